#!/usr/bin/python3
"""A crictl for tests: the kubelet's calls to containerd's CRI plugin (CRI over gRPC).

crictl is not in Debian 12, so the tests speak CRI themselves: Debian's python3-grpcio carries
the calls, and the few messages they need are encoded here by field number (the CRI api.proto
of k8s.io/cri-api), so no generated code is needed.

    cri.py SOCKET version
    cri.py SOCKET runp NAME HANDLER LOGDIR HOSTNAME [POD_OPTION]...  -> pod sandbox id
    cri.py SOCKET podstate POD                          -> READY | NOTREADY
    cri.py SOCKET podip POD                             -> the pod's IP from CNI
    cri.py SOCKET podnetns POD                          -> the pod's network namespace path
    cri.py SOCKET create POD NAME IMAGE LOGPATH PODNAME LOGDIR HOSTNAME [POD_OPTION]... -- CMD...
                                                        -> container id
    cri.py SOCKET start|rm CID
    cri.py SOCKET stop CID TIMEOUT
    cri.py SOCKET state CID                             -> CREATED|RUNNING|EXITED|UNKNOWN EXIT_CODE
    cri.py SOCKET exec CID TIMEOUT -- CMD...            -> its stdout; exits with its exit code
    cri.py SOCKET update CID MEMORY_BYTES
    cri.py SOCKET stopp|rmp POD

POD_OPTION: --pod-network (the pod gets its own network namespace, set up by CNI, instead of
the node's), --dns SERVER, --search DOMAIN, --dns-option OPT (each repeats: the pod's DNSConfig,
which CRI writes into its resolv.conf). create takes the options its pod was made with.

A failed call prints "cri: METHOD: STATUS: DETAILS" and exits 1; bad usage exits 2.
"""
import json
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


def pod_options(args):
    """--pod-network, --dns, --search and --dns-option into a dict; usage() on anything else."""
    opts = {"pod_network": False, "dns": [], "search": [], "dns_option": []}
    i = 0
    while i < len(args):
        if args[i] == "--pod-network":
            opts["pod_network"] = True
            i += 1
        elif args[i] in ("--dns", "--search", "--dns-option") and i + 1 < len(args):
            opts[args[i][2:].replace("-", "_")].append(args[i + 1])
            i += 2
        else:
            usage()
    return opts


def pod_sandbox_config(name, log_dir, hostname, opts):
    metadata = field_string(1, name) + field_string(2, "uid-" + name) + field_string(3, "default")
    # NamespaceMode POD (0, the default) is a namespace of the pod's own, made by containerd
    # and set up by CNI; NODE is the node's, with no CNI at all.
    namespace_options = field_varint(1, 0 if opts["pod_network"] else NAMESPACE_NODE)
    security_context = field_bytes(1, namespace_options)
    linux = field_bytes(2, security_context)
    dns = (
        b"".join(field_string(1, a) for a in opts["dns"])
        + b"".join(field_string(2, a) for a in opts["search"])
        + b"".join(field_string(3, a) for a in opts["dns_option"])
    )
    return (
        field_bytes(1, metadata)
        + field_string(2, hostname)
        + field_string(3, log_dir)
        + (field_bytes(4, dns) if dns else b"")
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
    elif verb == "runp" and len(args) >= 4:
        name, handler, log_dir, hostname = args[:4]
        config = pod_sandbox_config(name, log_dir, hostname, pod_options(args[4:]))
        req = field_bytes(1, config) + field_string(2, handler)
        print(first(call(channel, "RunPodSandbox", req), 1).decode())
    elif verb == "podstate" and len(args) == 1:
        status = decode(first(call(channel, "PodSandboxStatus", field_string(1, args[0])), 1, b""))
        print(["READY", "NOTREADY"][first(status, 3, 0)])
    elif verb == "podip" and len(args) == 1:
        status = decode(first(call(channel, "PodSandboxStatus", field_string(1, args[0])), 1, b""))
        network = decode(first(status, 5, b""))
        print(first(network, 1, b"").decode())
    elif verb == "podnetns" and len(args) == 1:
        # verbose: containerd's own view of the sandbox, as JSON under "info"
        r = call(channel, "PodSandboxStatus", field_string(1, args[0]) + field_varint(2, 1))
        info = dict((first(decode(e), 1, b"").decode(), first(decode(e), 2, b"").decode())
                    for e in r.get(2, []))
        spec = json.loads(info.get("info", "{}")).get("runtimeSpec") or {}
        paths = [n.get("path", "") for n in spec.get("linux", {}).get("namespaces", [])
                 if n.get("type") == "network"]
        print(paths[0] if paths else "")
    elif verb == "create":
        fixed, command = split_command(args)
        if len(fixed) < 7 or not command:
            usage()
        pod, name, image, log_path, pod_name, log_dir, hostname = fixed[:7]
        pod_config = pod_sandbox_config(pod_name, log_dir, hostname, pod_options(fixed[7:]))
        req = (
            field_string(1, pod)
            + field_bytes(2, container_config(name, image, log_path, command))
            + field_bytes(3, pod_config)
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
