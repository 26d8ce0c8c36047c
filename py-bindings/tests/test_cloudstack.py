"""ovakit.cloudstack against the in-process simulator (which checks every signature)."""

import threading
import time

import pytest

import ovakit
from ovakit.cloudstack import Client, Simulator

from .ovakit_helpers import register_ova


@pytest.fixture
def sim():
    with Simulator(pending_polls=1) as s:
        yield s


@pytest.fixture
def cs(sim):
    return sim.client()


@pytest.fixture
def template(cs, file_server, small_ova):
    """A ready OVA template, downloaded by the simulator from a local HTTP server."""
    (file_server.root / "small.ova").write_bytes(small_ova.read_bytes())
    return register_ova(cs, file_server.url("small.ova")).id


def test_simulator_is_a_context_manager():
    with Simulator() as s:
        assert s.running
        assert s.endpoint.startswith("http://127.0.0.1:")
        endpoint = s.endpoint
    assert not s.running
    s.stop()  # idempotent
    with pytest.raises(RuntimeError):
        s.client()
    with pytest.raises(ovakit.CloudStackError) as info:
        Client(endpoint, "k", "s", timeout=2).list_zones()
    assert info.value.command == "listZones"


def test_client_from_arguments_env_and_config(sim, monkeypatch, tmp_path):
    direct = Client(sim.endpoint, sim.api_key, sim.secret_key, timeout=30)
    assert direct.endpoint == sim.endpoint and direct.api_key == sim.api_key
    assert sim.secret_key not in repr(direct)
    assert len(direct.list_zones()) >= 1

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOUDSTACK_ENDPOINT", sim.endpoint)
    monkeypatch.setenv("CLOUDSTACK_KEY", sim.api_key)
    monkeypatch.setenv("CLOUDSTACK_SECRET", sim.secret_key)
    assert Client.from_env().list_zones() == direct.list_zones()

    for var in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET"):
        monkeypatch.delenv(var)
    ini = tmp_path / "cs.ini"
    ini.write_text(
        f"[cloudstack]\nendpoint = http://127.0.0.1:1/nothing\nkey = x\nsecret = y\n\n"
        f"[lab]\nendpoint = {sim.endpoint}\nkey = {sim.api_key}\nsecret = {sim.secret_key}\n"
    )
    monkeypatch.setenv("CLOUDSTACK_CONFIG", str(ini))
    lab = Client.from_config("lab")
    assert lab.endpoint == sim.endpoint
    assert lab.list_zones() == direct.list_zones()


def test_config_errors(monkeypatch, tmp_path):
    with pytest.raises(ovakit.ConfigError) as info:
        Client("http://127.0.0.1:1/client/api", "k", "s", no_such_option=1)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ovakit.ConfigError):
        Client("not a url", "k", "s")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for var in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "CLOUDSTACK_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ovakit.OvakitError):
        Client.from_env()


def test_request_and_typed_helpers(cs):
    zones = cs.request("listZones", available=True)
    assert zones["count"] == len(zones["zone"])
    typed = cs.list_zones()
    assert [z.id for z in typed] == [z["id"] for z in zones["zone"]]
    assert cs.list_os_types() and cs.list_service_offerings()
    assert any(a.name == "deployVirtualMachine" for a in cs.list_apis())
    assert isinstance(cs.list_templates(), list)
    assert cs.list_async_jobs() == []


def test_unknown_command_and_bad_keys_raise_cloudstack_errors(sim, cs):
    with pytest.raises(ovakit.CloudStackError) as info:
        cs.request("noSuchCommand")
    assert info.value.command == "noSuchCommand" and info.value.errorcode
    bad = Client(sim.endpoint, sim.api_key, "wrong-secret")
    with pytest.raises(ovakit.CloudStackError) as info:
        bad.list_zones()
    assert info.value.errorcode == 401 and info.value.command == "listZones"
    assert "wrong-secret" not in str(info.value)


def _deploy_params(cs, template_id):
    return dict(
        zoneid=cs.list_zones()[0].id,
        templateid=template_id,
        serviceofferingid=cs.list_service_offerings()[0].id,
    )


def test_vm_lifecycle_jobs_and_list_all(cs, template):
    ticks = []
    result = cs.call_and_wait(
        "deployVirtualMachine", progress=ticks.append, name="vm-a", **_deploy_params(cs, template)
    )
    vm = result["virtualmachine"]
    assert vm["state"] == "Running" and vm["name"] == "vm-a"
    assert ticks and ticks[0].command == "deployVirtualMachine" and ticks[0].polls >= 1
    vm2 = cs.deploy_virtual_machine(name="vm-b", **_deploy_params(cs, template))
    assert cs.stop_virtual_machine(vm2.id).state == "Stopped"
    assert cs.start_virtual_machine(vm2.id).state == "Running"
    names = [v["name"] for v in cs.list_all("listVirtualMachines", pagesize=1)]
    assert sorted(names) == ["vm-a", "vm-b"]
    assert sorted(v.name for v in cs.list_virtual_machines()) == ["vm-a", "vm-b"]
    cs.destroy_virtual_machine(vm2.id, expunge=True)
    assert [v.name for v in cs.list_virtual_machines()] == ["vm-a"]

    started = cs.request("stopVirtualMachine", id=vm["id"])
    outcome = cs.wait_job(started["jobid"], "stopVirtualMachine")
    assert outcome.status == "succeeded" and outcome.result["state"] == "Stopped"
    assert outcome.job_id == started["jobid"]
    assert cs.query_async_job_result(started["jobid"]).jobstatus == 1


def test_failed_job_is_an_async_job_error(sim, cs, template):
    sim.fail_next_job(530, "not enough capacity")
    with pytest.raises(ovakit.AsyncJobError) as info:
        cs.deploy_virtual_machine(name="x", **_deploy_params(cs, template))
    err = info.value
    assert isinstance(err, ovakit.CloudStackError)
    assert err.errorcode == 530 and err.errortext == "not enough capacity"
    assert err.command == "deployVirtualMachine" and err.job_id


def test_job_timeout(sim, template):
    sim.set_pending_polls(1000)
    cs = sim.client(job_timeout=1)
    with pytest.raises(ovakit.JobTimeoutError) as info:
        cs.deploy_virtual_machine(name="slow", **_deploy_params(cs, template))
    assert isinstance(info.value, TimeoutError) and info.value.job_id


def test_exception_in_progress_stops_the_wait(sim, cs, template):
    sim.set_pending_polls(1000)

    class Enough(Exception):
        pass

    def progress(p):
        if p.polls >= 2:
            raise Enough(p.job_id)

    with pytest.raises(Enough):
        cs.call_and_wait("deployVirtualMachine", progress=progress, **_deploy_params(cs, template))


def test_gil_released_while_waiting(sim, cs, template):
    """Another Python thread runs API calls while the main thread waits on a job."""
    sim.set_pending_polls(4)
    done = []

    def other():
        for _ in range(5):
            done.append(len(cs.list_zones()))

    worker = threading.Thread(target=other)
    seen = []

    def progress(p):
        if p.polls == 1:
            worker.start()
        seen.append(len(done))

    cs.call_and_wait("deployVirtualMachine", progress=progress, **_deploy_params(cs, template))
    worker.join()
    assert len(done) == 5


def test_templates_register_wait_extract(cs, file_server, small_ova, tmp_path):
    import urllib.request

    (file_server.root / "a.ova").write_bytes(small_ova.read_bytes())
    ready = register_ova(cs, file_server.url("a.ova"), name="tpl-a")
    assert ready.isready and ready.name == "tpl-a"
    assert any(t.id == ready.id for t in cs.list_templates())
    extracted = cs.extract_template(ready.id)
    with urllib.request.urlopen(extracted.download_url) as resp:
        assert resp.read() == small_ova.read_bytes()
    cs.delete_template(ready.id)
    assert all(t.id != ready.id for t in cs.list_templates())


def test_template_download_failure(cs, file_server):
    (file_server.root / "junk.ova").write_bytes(b"not an ova" * 100)
    with pytest.raises(ovakit.CloudStackError, match="not an OVA"):
        register_ova(cs, file_server.url("junk.ova"))


def test_cancel_token_stops_a_wait_on_a_pending_job(sim, cs, template):
    """Another thread cancels while call_and_wait polls a job that stays pending: the wait
    raises CancelledError at once, the job still pending on the server."""
    sim.set_pending_polls(1000)
    token = ovakit.CancelToken()
    polled = threading.Event()
    jobs = []

    def progress(p):
        jobs.append(p.job_id)
        if p.polls >= 2:
            polled.set()

    def cancel():
        if polled.wait(30):
            token.cancel()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    try:
        with pytest.raises(ovakit.CancelledError, match="cancelled by its CancelToken"):
            cs.call_and_wait(
                "deployVirtualMachine",
                progress=progress,
                cancel=token,
                **_deploy_params(cs, template),
            )
    finally:
        polled.set()
        canceller.join()
    assert cs.query_async_job_result(jobs[0]).jobstatus == 0


def test_one_token_stops_every_wait_given_it(sim, cs, template):
    """wait_job and the typed deploy_virtual_machine, without progress callbacks, in two
    threads: one cancel() stops both; the jobs stay pending."""
    sim.set_pending_polls(1000)
    params = _deploy_params(cs, template)
    job = cs.request("deployVirtualMachine", **params)["jobid"]
    before = {j.jobid for j in cs.list_async_jobs()}
    token = ovakit.CancelToken()
    errors = []

    def run(call):
        try:
            call()
        except BaseException as err:  # noqa: BLE001 - the test looks at what was raised
            errors.append(err)

    waiters = [
        threading.Thread(target=run, args=(lambda: cs.wait_job(job, cancel=token),)),
        threading.Thread(
            target=run,
            args=(lambda: cs.deploy_virtual_machine(name="slow", cancel=token, **params),),
        ),
    ]
    for w in waiters:
        w.start()
    # both are polling once the server has seen the second job's polls
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = cs.list_async_jobs()
        if len(jobs) > len(before):
            break
        time.sleep(0.05)
    token.cancel()
    for w in waiters:
        w.join(60)
    assert [type(e) for e in errors] == [ovakit.CancelledError, ovakit.CancelledError]
    assert all(j.jobstatus == 0 for j in cs.list_async_jobs())


def test_a_token_cancelled_before_the_call_sends_nothing(sim, cs, template):
    params = _deploy_params(cs, template)
    token = ovakit.CancelToken()
    token.cancel()
    sent = sim.request_count
    with pytest.raises(ovakit.CancelledError):
        cs.call_and_wait("deployVirtualMachine", cancel=token, **params)
    with pytest.raises(ovakit.CancelledError):
        cs.deploy_virtual_machine(cancel=token, **params)
    with pytest.raises(ovakit.CancelledError):
        cs.wait_job("no-such-job", cancel=token)
    with pytest.raises(ovakit.CancelledError):
        cs.wait_template_ready(template, cancel=token)
    with pytest.raises(ovakit.CancelledError):
        cs.wait_template_ready_in(template, cancel=token)
    with pytest.raises(ovakit.CancelledError):
        cs.request("listZones", cancel=token)
    with pytest.raises(ovakit.CancelledError):
        cs.stop_virtual_machine("no-such-vm", True, cancel=token)
    with pytest.raises(ovakit.CancelledError):
        cs.register_template_checked(
            "t", "OVA", "VMware", "1", "http://127.0.0.1/t.ova", zoneids=["-1"], cancel=token
        )
    pages = cs.list_all("listZones", cancel=token)
    with pytest.raises(ovakit.CancelledError):
        next(pages)
    assert sim.request_count == sent
    # the same calls go through with a fresh token
    assert [z["id"] for z in cs.list_all("listZones", cancel=ovakit.CancelToken())] == [
        z.id for z in cs.list_zones(cancel=ovakit.CancelToken())
    ]
