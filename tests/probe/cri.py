#!/usr/bin/python3
"""A crictl for tests: the kubelet's calls to containerd's CRI plugin (CRI over gRPC).

crictl is not in Debian 12, so the tests speak CRI themselves: Debian's python3-grpcio carries
the calls, and the few messages they need are encoded here by field number (the CRI api.proto
of k8s.io/cri-api), so no generated code is needed.

    cri.py SOCKET version
    cri.py SOCKET runp NAME HANDLER LOGDIR HOSTNAME     -> pod sandbox id
    cri.py SOCKET podstate POD                          -> READY | NOTREADY
    cri.py SOCKET create POD NAME IMAGE LOGPATH PODNAME LOGDIR HOSTNAME -- CMD...  -> container id
    cri.py SOCKET start|rm CID
    cri.py SOCKET stop CID TIMEOUT
    cri.py SOCKET state CID                             -> CREATED|RUNNING|EXITED|UNKNOWN EXIT_CODE
    cri.py SOCKET exec CID TIMEOUT -- CMD...            -> its stdout; exits with its exit code
    cri.py SOCKET update CID MEMORY_BYTES
    cri.py SOCKET stopp|rmp POD

A failed call prints "cri: METHOD: STATUS: DETAILS" and exits 1; bad usage exits 2.
"""
import sys

import grpc

# ---- protobuf wire format, just enough for CRI ---------------------------------------------


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, n):
    return varint(num << 3) + varint(n) if n else b""


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint((num << 3) | 2) + varint(len(data)) + data


def field_string(num, s):
    return field_bytes(num, s) if s else b""


def field_map(num, mapping):
    return b"".join(
        field_bytes(num, field_string(1, k) + field_string(2, v)) for k, v in mapping.items()
    )


def decode(data):
    """Field number -> list of values (int for varints, bytes for length-delimited)."""
    fields, i = {}, 0

    def read_varint():
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(data):
        key = read_varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            value = read_varint()
        elif wire == 2:
            length = read_varint()
            value = data[i : i + length]
            i += length
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        fields.setdefault(num, []).append(value)
    return fields


def first(fields, num, default=None):
    return fields.get(num, [default])[0]


def signed32(n):
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n & 0x80000000 else n


# ---- messages ------------------------------------------------------------------------------

NAMESPACE_NODE = 2
CONTAINER_STATES = ["CREATED", "RUNNING", "EXITED", "UNKNOWN"]


def pod_sandbox_config(name, log_dir, hostname):
    metadata = field_string(1, name) + field_string(2, "uid-" + name) + field_string(3, "default")
    # The node's network namespace: CNI (issue 7) is not needed for the pod to start.
    namespace_options = field_varint(1, NAMESPACE_NODE)
    security_context = field_bytes(1, namespace_options)
    linux = field_bytes(2, security_context)
    return (
        field_bytes(1, metadata)
        + field_string(2, hostname)
        + field_string(3, log_dir)
        + field_map(6, {"io.kubernetes.pod.name": name})
        + field_bytes(8, linux)
    )


def container_config(name, image, log_path, argv):
    metadata = field_string(1, name)
    image_spec = field_string(1, image)
    return (
        field_bytes(1, metadata)
        + field_bytes(2, image_spec)
        + b"".join(field_string(3, a) for a in argv)
        + field_string(11, log_path)
    )


# ---- calls ---------------------------------------------------------------------------------


def call(channel, method, request, timeout=600):
    # Debian's containerd 1.6.20 serves only runtime.v1alpha2, upstream's 1.6 both; the
    # messages used here are the same in both.
    for api in ("runtime.v1", "runtime.v1alpha2"):
        stub = channel.unary_unary(
            "/%s.RuntimeService/%s" % (api, method),
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        try:
            return decode(stub(request, timeout=timeout))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED and "unknown service" in e.details():
                continue
            print("cri: %s: %s: %s" % (method, e.code().name, e.details()), file=sys.stderr)
            sys.exit(1)
    print("cri: %s: the CRI plugin serves neither runtime.v1 nor v1alpha2" % method, file=sys.stderr)
    sys.exit(1)


def split_command(args):
    if "--" not in args:
        usage()
    at = args.index("--")
    return args[:at], args[at + 1 :]


def usage():
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    sys.exit(2)


def main(argv):
    if len(argv) < 3:
        usage()
    channel = grpc.insecure_channel("unix://" + argv[1])
    verb, args = argv[2], argv[3:]
    if verb == "version" and not args:
        r = call(channel, "Version", field_string(1, "v1"))
        print(first(r, 2, b"").decode(), first(r, 3, b"").decode(), first(r, 4, b"").decode())
    elif verb == "runp" and len(args) == 4:
        name, handler, log_dir, hostname = args
        req = field_bytes(1, pod_sandbox_config(name, log_dir, hostname)) + field_string(2, handler)
        print(first(call(channel, "RunPodSandbox", req), 1).decode())
    elif verb == "podstate" and len(args) == 1:
        status = decode(first(call(channel, "PodSandboxStatus", field_string(1, args[0])), 1, b""))
        print(["READY", "NOTREADY"][first(status, 3, 0)])
    elif verb == "create":
        fixed, command = split_command(args)
        if len(fixed) != 7 or not command:
            usage()
        pod, name, image, log_path, pod_name, log_dir, hostname = fixed
        req = (
            field_string(1, pod)
            + field_bytes(2, container_config(name, image, log_path, command))
            + field_bytes(3, pod_sandbox_config(pod_name, log_dir, hostname))
        )
        print(first(call(channel, "CreateContainer", req), 1).decode())
    elif verb in ("start", "rm") and len(args) == 1:
        method = {"start": "StartContainer", "rm": "RemoveContainer"}[verb]
        call(channel, method, field_string(1, args[0]))
    elif verb == "stop" and len(args) == 2:
        call(channel, "StopContainer", field_string(1, args[0]) + field_varint(2, int(args[1])))
    elif verb == "state" and len(args) == 1:
        status = decode(first(call(channel, "ContainerStatus", field_string(1, args[0])), 1, b""))
        print(CONTAINER_STATES[first(status, 3, 0)], signed32(first(status, 7, 0)))
    elif verb == "exec":
        fixed, command = split_command(args)
        if len(fixed) != 2 or not command:
            usage()
        req = (
            field_string(1, fixed[0])
            + b"".join(field_string(2, a) for a in command)
            + field_varint(3, int(fixed[1]))
        )
        r = call(channel, "ExecSync", req, timeout=int(fixed[1]) + 600)
        sys.stdout.buffer.write(first(r, 1, b""))
        sys.stderr.buffer.write(first(r, 2, b""))
        sys.exit(signed32(first(r, 3, 0)))
    elif verb == "update" and len(args) == 2:
        resources = field_varint(4, int(args[1]))
        call(channel, "UpdateContainerResources", field_string(1, args[0]) + field_bytes(2, resources))
    elif verb in ("stopp", "rmp") and len(args) == 1:
        method = {"stopp": "StopPodSandbox", "rmp": "RemovePodSandbox"}[verb]
        call(channel, method, field_string(1, args[0]))
    else:
        usage()


if __name__ == "__main__":
    main(sys.argv)
