#!/usr/bin/python3
"""A chained CNI plugin for tests/vm/test_shim_cni.sh, run after the bridge plugin.

ADD passes the bridge's result on, and for a few pod names (K8S_POD_NAME in CNI_ARGS) breaks
the pod's network namespace the way the test needs:
    kl-gone   the namespace is unmounted and its path removed: it does not exist any more
    kl-tun    a tun device (no link layer, no MAC) with an address: the VM cannot mirror it
    kl-route  a route through an on-link gateway outside every subnet, which the guest refuses
              once the VM runs (a failure after the taps and redirects exist)
DEL runs before the bridge's (CNI deletes in reverse order), so the namespace still holds what
the shim left: the links and eth0's ingress qdisc are appended to RECORD_DIR/POD.del, where
RECORD_DIR is the "recordDir" key of the plugin's configuration.
"""
import json
import os
import subprocess
import sys


def run(netns, *argv):
    return subprocess.run(
        ["nsenter", "--net=" + netns, *argv], capture_output=True, text=True, check=False
    )


def must(netns, *argv):
    r = run(netns, *argv)
    if r.returncode != 0:
        fail("%s: %s" % (" ".join(argv), r.stderr.strip()))


def fail(msg):
    print(json.dumps({"cniVersion": "0.4.0", "code": 999, "msg": "kl-probe: " + msg}))
    sys.exit(1)


def pod_name():
    for kv in os.environ.get("CNI_ARGS", "").split(";"):
        if kv.startswith("K8S_POD_NAME="):
            return kv.split("=", 1)[1]
    return ""


def add(conf, netns):
    pod = pod_name()
    if pod == "kl-gone":
        subprocess.run(["umount", netns], check=False)
        os.unlink(netns)
    elif pod == "kl-tun":
        must(netns, "ip", "tuntap", "add", "dev", "kltun0", "mode", "tun")
        must(netns, "ip", "addr", "add", "192.0.2.9/32", "dev", "kltun0")
    elif pod == "kl-route":
        must(netns, "ip", "route", "add", "198.51.100.0/24", "via", "203.0.113.1", "dev",
             os.environ.get("CNI_IFNAME", "eth0"), "onlink")
    result = conf.get("prevResult") or {}
    result["cniVersion"] = conf.get("cniVersion", "0.4.0")
    print(json.dumps(result))


def delete(conf, netns):
    record = os.path.join(conf["recordDir"], (pod_name() or "unnamed") + ".del")
    with open(record, "a") as f:
        if not netns or not os.path.exists(netns):
            f.write("no netns\n")
            return
        ifname = os.environ.get("CNI_IFNAME", "eth0")
        f.write(run(netns, "ip", "-o", "link", "show").stdout)
        f.write(run(netns, "tc", "qdisc", "show", "dev", ifname, "ingress").stdout)
        f.write("recorded\n")


def main():
    command = os.environ.get("CNI_COMMAND", "")
    if command == "VERSION":
        print(json.dumps({"cniVersion": "0.4.0",
                          "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]}))
        return
    conf = json.load(sys.stdin)
    netns = os.environ.get("CNI_NETNS", "")
    if command == "ADD":
        add(conf, netns)
    elif command == "DEL":
        delete(conf, netns)


if __name__ == "__main__":
    main()
