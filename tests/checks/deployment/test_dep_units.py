

def test_registry_unreachable_is_an_environment_fact_not_a_product_flaw() -> None:
    from prodaudit.checks.deployment._common import registry_unreachable

    log = ('Step 2/31 : FROM ${BASE_IMAGE} AS builder\nGet "https://registry-1.docker.io/v2/": dial tcp: '
           "lookup registry-1.docker.io on 10.255.255.53:53: no such host\n")
    assert registry_unreachable(log) and "no such host" in registry_unreachable(log)
    assert registry_unreachable("pull access denied for pyhton, repository does not exist") is None
    assert registry_unreachable("RUN pip install x\nERROR: No matching distribution found for x") is None
