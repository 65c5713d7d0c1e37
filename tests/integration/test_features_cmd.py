"""husk features: the runtime-spec features document, as runc prints it."""
import json

import pytest


@pytest.mark.husk_only
def test_features_document(hk):
    r = hk.ok("features", root=False)
    doc = json.loads(r.out)
    assert doc["ociVersionMin"] == "1.0.0"
    assert doc["ociVersionMax"].startswith("1.")
    lx = doc["linux"]
    assert set(lx["namespaces"]) == {"cgroup", "ipc", "mount", "network", "pid", "time",
                                     "user", "uts"}
    assert "CAP_SYS_ADMIN" in lx["capabilities"] and "CAP_CHECKPOINT_RESTORE" in lx["capabilities"]
    assert lx["cgroup"]["v1"] and lx["cgroup"]["v2"]
    assert lx["seccomp"]["enabled"] is True
    assert "SCMP_ACT_NOTIFY" in lx["seccomp"]["actions"]
    assert "SCMP_CMP_MASKED_EQ" in lx["seccomp"]["operators"]
    assert doc["hooks"] == ["prestart", "createRuntime", "createContainer", "startContainer",
                            "poststart", "poststop"]
    assert lx["memoryPolicy"] == {
        "modes": ["MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE",
                  "MPOL_LOCAL", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"],
        "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]}
    for opt in ("ro", "rbind", "rprivate", "nosuid", "rro", "strictatime"):
        assert opt in doc["mountOptions"]


@pytest.mark.husk_only
def test_features_idmap_and_netdevices(hk):
    """Idmapped mounts (idmap, ridmap, a mount's uidMappings/gidMappings)
    and linux.netDevices are listed, as runc 1.2/1.3 and crun list them;
    engines look for mountExtensions.idmap before they ask for one.
    runc 1.1.5 has neither."""
    doc = json.loads(hk.ok("features", root=False).out)
    assert doc["linux"]["mountExtensions"]["idmap"]["enabled"] is True
    assert doc["linux"]["netDevices"]["enabled"] is True
    assert {"idmap", "ridmap"} <= set(doc["mountOptions"])


def test_features_rejects_arguments(hk):
    assert hk.call("features", "extra", root=False).rc != 0
