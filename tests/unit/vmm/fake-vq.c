/* The fake virtqueue: rings at fixed addresses inside a 1 MiB buffer posing as guest RAM. */
#include "fake-vq.h"

#include <stdlib.h>
#include <string.h>

void fvq_init(struct fvq *f, uint16_t num)
{
	memset(f, 0, sizeof(*f));
	f->ram = calloc(1, FVQ_RAM);
	gm_init_fake(&f->gm, f->ram, FVQ_RAM);
	f->q.num = num;
	f->q.desc = FVQ_DESC;
	f->q.avail = FVQ_AVAIL;
	f->q.used = FVQ_USED;
	f->q.ready = true;
}

void fvq_free(struct fvq *f)
{
	free(f->ram);
	f->ram = NULL;
}

void fvq_desc(struct fvq *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = f->ram + FVQ_DESC + 16u * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

void fvq_set_avail_idx(struct fvq *f, uint16_t idx)
{
	memcpy(f->ram + FVQ_AVAIL + 2, &idx, 2);
}

void fvq_publish(struct fvq *f, uint16_t head)
{
	memcpy(f->ram + FVQ_AVAIL + 4 + 2u * (f->avail_idx % f->q.num), &head, 2);
	f->avail_idx++;
	fvq_set_avail_idx(f, f->avail_idx);
}

uint16_t fvq_used_idx(const struct fvq *f)
{
	uint16_t v;
	memcpy(&v, f->ram + FVQ_USED + 2, 2);
	return v;
}
