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


def test_features_rejects_arguments(hk):
    assert hk.call("features", "extra", root=False).rc != 0
