/* Ring walking with Firecracker's distrust: a descriptor index must be < num, a chain has at
 * most num descriptors (so loops end), avail->idx may run at most num ahead, indirect tables
 * only when negotiated and never nested, no readable buffer after a writable one, lengths
 * summed without overflow, every buffer inside RAM. */
#include "vmm/virtio/queue.h"

#include "vmm/mem.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4

struct vring_desc_le {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static bool aligned(uint64_t v, uint64_t a)
{
	return (v & (a - 1)) == 0;
}

int vq_validate(const struct vq *q, const struct guest_mem *gm)
{
	if (q->num == 0 || q->num > VQ_MAX_SIZE || (q->num & (q->num - 1)))
		return -EINVAL;
	if (!aligned(q->desc, 16) || !aligned(q->avail, 2) || !aligned(q->used, 4))
		return -EINVAL;
	if (!gm_ptr(gm, q->desc, 16ull * q->num) || !gm_ptr(gm, q->avail, 6 + 2ull * q->num) ||
	    !gm_ptr(gm, q->used, 6 + 8ull * q->num))
		return -EINVAL;
	return 0;
}

static uint16_t load16_acquire(const void *p)
{
	uint16_t v;
	__atomic_load((const uint16_t *)p, &v, __ATOMIC_ACQUIRE);
	return v;
}

static int add_buffer(struct vq_chain *c, const struct guest_mem *gm, uint64_t addr, uint32_t len,
		      bool writable, unsigned *count)
{
	if (++*count > VQ_MAX_CHAIN)
		return -EINVAL;
	void *p = gm_ptr(gm, addr, len);
	if (!p)
		return -EINVAL;
	if (writable) {
		if (c->n_in >= VQ_MAX_CHAIN || c->in_len + len < c->in_len)
			return -EINVAL;
		c->in[c->n_in++] = (struct iovec){p, len};
		c->in_len += len;
	} else {
		if (c->n_in > 0) /* no readable buffer after a writable one */
			return -EINVAL;
		if (c->n_out >= VQ_MAX_CHAIN || c->out_len + len < c->out_len)
			return -EINVAL;
		c->out[c->n_out++] = (struct iovec){p, len};
		c->out_len += len;
	}
	return 0;
}

static int walk_indirect(struct vq_chain *c, const struct guest_mem *gm, uint64_t table,
			 uint32_t table_len, unsigned *count)
{
	if (table_len == 0 || table_len % 16 || table_len / 16 > VQ_MAX_CHAIN)
		return -EINVAL;
	uint16_t n = (uint16_t)(table_len / 16);
	const struct vring_desc_le *t = gm_ptr(gm, table, table_len);
	if (!t)
		return -EINVAL;
	uint16_t i = 0;
	for (unsigned steps = 0;; steps++) {
		if (i >= n || steps >= n)
			return -EINVAL;
		struct vring_desc_le d;
		memcpy(&d, &t[i], sizeof(d)); /* read each field once */
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL; /* nested */
		int r = add_buffer(c, gm, d.addr, d.len, d.flags & VRING_DESC_F_WRITE, count);
		if (r < 0)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int vq_pop(struct vq *q, const struct guest_mem *gm, struct vq_chain *c)
{
	if (!q->ready)
		return 0;
	const uint16_t *avail = gm_ptr(gm, q->avail, 6 + 2ull * q->num);
	const struct vring_desc_le *desc = gm_ptr(gm, q->desc, 16ull * q->num);
	if (!avail || !desc)
		return -EINVAL;
	uint16_t avail_idx = load16_acquire(&avail[1]);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->num)
		return -EINVAL;
	uint16_t head = avail[2 + q->last_avail % q->num];
	if (head >= q->num)
		return -EINVAL;
	memset(c, 0, offsetof(struct vq_chain, out));
	c->head = head;
	unsigned count = 0;
	uint16_t i = head;
	for (unsigned steps = 0;; steps++) {
		if (i >= q->num || steps >= q->num)
			return -EINVAL;
		struct vring_desc_le d;
		memcpy(&d, &desc[i], sizeof(d));
		int r;
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!q->indirect || (d.flags & VRING_DESC_F_NEXT))
				return -EINVAL;
			r = walk_indirect(c, gm, d.addr, d.len, &count);
			if (r < 0)
				return r;
			break;
		}
		r = add_buffer(c, gm, d.addr, d.len, d.flags & VRING_DESC_F_WRITE, &count);
		if (r < 0)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
	}
	q->last_avail++;
	if (q->event_idx) {
		/* avail_event (used->ring[num]): tell the driver which index to kick us at. */
		uint16_t *used = gm_ptr(gm, q->used, 6 + 8ull * q->num + 2);
		if (used)
			__atomic_store_n((uint16_t *)((uint8_t *)used + 4 + 8ull * q->num),
					 q->last_avail, __ATOMIC_RELEASE);
	}
	return 1;
}

void vq_unpop(struct vq *q)
{
	q->last_avail--;
}

int vq_push(struct vq *q, const struct guest_mem *gm, uint16_t head, uint32_t written)
{
	uint8_t *used = gm_ptr(gm, q->used, 6 + 8ull * q->num);
	if (!used)
		return -EINVAL;
	uint32_t elem[2] = {head, written};
	memcpy(used + 4 + 8ull * (q->used_idx % q->num), elem, sizeof(elem));
	q->used_idx++;
	__atomic_store_n((uint16_t *)(used + 2), q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool vq_should_notify(struct vq *q, const struct guest_mem *gm)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx) {
		const uint16_t *avail = gm_ptr(gm, q->avail, 4);
		return !avail || !(load16_acquire(&avail[0]) & 1); /* VRING_AVAIL_F_NO_INTERRUPT */
	}
	const uint16_t *avail = gm_ptr(gm, q->avail, 6 + 2ull * q->num);
	if (!avail)
		return true;
	uint16_t used_event = load16_acquire(&avail[2 + q->num]);
	uint16_t old = q->signalled_used, new_idx = q->used_idx;
	bool valid = q->signalled_valid;
	q->signalled_used = new_idx;
	q->signalled_valid = true;
	/* vring_need_event() of virtio 1.1 §2.6.7.2 */
	return !valid || (uint16_t)(new_idx - used_event - 1) < (uint16_t)(new_idx - old);
}

/* Copies len bytes between a flat buffer and iovecs starting `skip` bytes into the iovecs. */
static uint64_t iov_copy(const struct iovec *iov, unsigned n, uint64_t skip, uint8_t *buf,
			 uint64_t len, bool into_iov)
{
	uint64_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		uint64_t take = iov[i].iov_len - skip;
		if (take > len - done)
			take = len - done;
		uint8_t *v = (uint8_t *)iov[i].iov_base + skip;
		if (into_iov)
			memcpy(v, buf + done, take);
		else
			memcpy(buf + done, v, take);
		done += take;
		skip = 0;
	}
	return done;
}

uint64_t iov_to_buf(const struct iovec *iov, unsigned n, uint64_t skip, void *buf, uint64_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

uint64_t buf_to_iov(const struct iovec *iov, unsigned n, uint64_t skip, const void *buf,
		    uint64_t len)
{
	return iov_copy(iov, n, skip, (uint8_t *)buf, len, true);
}

unsigned iov_slice(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len,
		   struct iovec *out)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		uint64_t take = iov[i].iov_len - skip;
		if (take > len)
			take = len;
		out[k++] = (struct iovec){(uint8_t *)iov[i].iov_base + skip, take};
		len -= take;
		skip = 0;
	}
	return k;
}
