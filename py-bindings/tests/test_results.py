"""The typed results (ovakit.results): every field has the type its annotation says (numbers are
ints), results are frozen, compare and hash by value, show every field in repr, and to_dict()
gives the dict shape earlier versions returned. Checked on real results of every family."""

import dataclasses
import hashlib
import os
import subprocess
import tarfile
import typing
import urllib.request

import pytest

import ovakit
from ovakit import disk, results
from ovakit.cloudstack import Simulator
from ovakit.ova import Descriptor, Ova, build_ova, raw_to_vmdk, sign, vmdk_info, vmdk_to_raw

from .ovakit_helpers import add_bytes, register_ova

NONE = type(None)


def check_types(value, tp=None, where="result"):
    """Every field of the result `value` (recursively) has the type its annotation names; an
    int field holds an int (never a str or a bool)."""
    if tp is None:
        tp = type(value)
    if tp is typing.Any:
        return
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        errors = []
        for choice in typing.get_args(tp):
            try:
                check_types(value, choice, where)
                return
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError(f"{where}: {value!r} is none of {tp}: {errors}")
    if origin is tuple:
        assert isinstance(value, tuple), f"{where}: {value!r} is not a tuple"
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            for i, v in enumerate(value):
                check_types(v, args[0], f"{where}[{i}]")
        else:
            assert len(args) == len(value), f"{where}: {value!r} is not {tp}"
            for i, (a, v) in enumerate(zip(args, value)):
                check_types(v, a, f"{where}[{i}]")
        return
    if origin is dict:
        assert isinstance(value, dict), f"{where}: {value!r} is not a dict"
        return
    if tp is NONE:
        assert value is None, f"{where}: {value!r} is not None"
        return
    if tp in (int, str, bool):
        assert type(value) is tp, f"{where}: {value!r} is a {type(value).__name__}, not {tp}"
        return
    if tp is float:
        assert type(value) in (int, float), f"{where}: {value!r} is not a float"
        return
    assert isinstance(value, tp), f"{where}: {value!r} is not a {tp}"
    assert isinstance(value, results.Result) and dataclasses.is_dataclass(value)
    hints = typing.get_type_hints(type(value), vars(results), vars(results))
    for f in dataclasses.fields(value):
        check_types(getattr(value, f.name), hints[f.name], f"{type(value).__name__}.{f.name}")


def check_result(value, old_keys=None):
    """The common contract of a result: typed fields, frozen, equal to a copy rebuilt from its
    dict, hashable, repr naming every shown field, to_dict() a fresh plain dict."""
    check_types(value)
    cls = type(value)
    fields = dataclasses.fields(value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, fields[0].name, None)
    d = value.to_dict()
    assert type(d) is dict
    if old_keys is not None:
        assert set(d) == set(old_keys), (cls.__name__, set(d) ^ set(old_keys))
    again = cls._from_dict(d)
    assert again == value and hash(again) == hash(value)
    assert again is not value
    # the copy is the caller's: changing it changes nothing
    d.clear()
    assert value.to_dict() == again.to_dict()
    # built by hand (no native dict kept), to_dict() rebuilds the same shape from the fields
    by_hand = dataclasses.replace(value)
    assert by_hand == value and by_hand.to_dict() == value.to_dict()
    text = repr(value)
    assert text.startswith(cls.__name__ + "(")
    for f in fields:
        if f.repr:
            assert f"{f.name}=" in text
    return value


# ---- ovakit.ova: archive, manifest, findings ------------------------------------------------


def test_entries_manifest_and_findings(tmp_path, descriptor):
    path = tmp_path / "odd.ova"
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        add_bytes(tar, "odd.ovf", descriptor)
        add_bytes(tar, "odd.mf", b"SHA256(disk1.vmdk)= " + b"0" * 64 + b"\ngarbage line\n")
        add_bytes(tar, "disk1.vmdk", b"\x01" * 3000)
        add_bytes(tar, "disk1.vmdk", b"\x02" * 10)
        add_bytes(tar, "sub/" + "n" * 120, b"x")
    ova = Ova.open(path)
    entries = ova.entries
    assert [type(e) for e in entries] == [ovakit.ova.Entry] * 5
    for e in entries:
        check_result(e)
    assert entries == Ova.open(path).entries and len(set(entries)) == 5
    assert entries[2].size == 3000 and isinstance(entries[2].mtime, int)
    problems = {p.problem for e in entries for p in e.problems}
    assert {"duplicate", "not_flat", "long_name", "extension_header"} <= problems
    ext = next(p for e in entries for p in e.problems if p.problem == "extension_header")
    assert ext.extension == "gnu_long_name" and ext.to_dict() == {
        "problem": "extension_header",
        "extension": "gnu_long_name",
    }
    check_result(ova.end, ["data_end", "zero_blocks", "missing_end_marker", "truncated"])
    assert ova.end.zero_blocks >= 2

    m = ova.manifest
    check_result(m, ["lines", "bad_lines", "missing_final_newline", "duplicate_names"])
    assert len(m) == 1 and m.bad_lines[0].line == 2
    assert m.to_dict()["bad_lines"][0]["text"] == "garbage line"

    report = ova.check_manifest()
    check_result(report)
    assert not report and report.mismatched[0].name == "disk1.vmdk"
    assert report.to_dict()["mismatched"][0]["expected"] == "0" * 64
    with pytest.raises(ovakit.ManifestMismatchError) as err:
        ova.verify_manifest()
    assert err.value.report == report

    findings = ova.validate()
    assert findings and all(isinstance(f, ovakit.ova.Finding) for f in findings)
    for f in findings:
        check_result(f, ["severity", "code", "message", "entry"])
    assert any(f.is_error for f in findings)
    assert len(set(findings)) == len(set((f.code, f.message, f.entry) for f in findings))


# ---- ovakit.ova: the descriptor's typed view ------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "cot/input.ovf",
        "cot/v0.9.ovf",
        "cot/ubuntu.2.0.ovf",
        "govmomi/deployment-configs.ovf",
        "govmomi/nested-vapp.ovf",
        "govmomi/property-types.ovf",
        "govmomi/virtualsystemcollection.ovf",
    ],
)
def test_descriptor_classes_match_the_whole_view(corpus, name):
    """Each part's to_dict() is exactly that part of Descriptor.to_dict() (the serde view the
    CLI prints, computed independently)."""
    d = Descriptor.open(corpus / "ovf" / name)
    whole = d.to_dict()
    for part, cls in [
        ("references", results.FileRef),
        ("disks", results.Disk),
        ("networks", results.Network),
        ("deployment_options", results.DeploymentOption),
        ("issues", results.ModelIssue),
    ]:
        items = getattr(d, part)
        assert all(type(x) is cls for x in items)
        assert [x.to_dict() for x in items] == whole[part], part
        for x in items:
            check_result(x)
    content = results._build_one_of(("VirtualSystem", "VirtualSystemCollection"), whole["content"])
    check_result(content)
    assert content.to_dict() == whole["content"]
    systems = d.systems
    for s in systems + d.collections:
        check_result(s)
    for p in d.properties:
        check_result(p)
        assert p.system is not None
        assert p.to_dict()["class"] == p.class_ and p.to_dict()["type"] == p.kind
    for section in d.product_sections:
        check_result(section)
    assert d.systems == Descriptor.open(corpus / "ovf" / name).systems


def test_disk_capacity_is_an_int(corpus):
    d = Descriptor.open(corpus / "ovf" / "govmomi" / "nested-vapp.ovf")
    disk0 = d.disks[0]
    assert disk0.capacity == 512 << 20 and type(disk0.capacity) is int
    assert disk0.capacity_text == "512" and disk0.capacity_units == "byte * 2^20"
    old = disk0.to_dict()
    assert old["capacity"] == "512" and old["capacity_bytes"] == 512 << 20
    assert set(old) == {
        "disk_id", "file_ref", "capacity", "capacity_units", "capacity_bytes", "populated_size",
        "format", "parent_ref",
    }


# ---- ovakit.ova and ovakit.disk: reports ------------------------------------------------------


@pytest.fixture
def raw(tmp_path):
    path = tmp_path / "disk.raw"
    path.write_bytes(os.urandom(200_000) + bytes(2 << 20))
    return path


def test_package_reports(tmp_path, raw):
    out = tmp_path / "vm.ova"
    built = check_result(build_ova(raw, out, "vm", cpus=2, properties={"hostname": "h"}))
    assert built.bytes == out.stat().st_size and built.entries[0] == "vm.ovf"
    assert set(built.to_dict()) == {
        "entries", "bytes", "disk_size", "capacity", "populated", "converted", "manifest",
        "signed_by",
    }
    assert isinstance(built.to_dict()["entries"], list)

    ova = Ova.open(out)
    assert ova.disks[0].capacity == built.capacity
    assert ova.systems[0].hardware[0].cpus == 2
    assert ova.properties[0].key == "hostname" and ova.properties[0].system == "vm"

    repacked = check_result(ova.repack(tmp_path / "r.ova", cpus=4))
    assert repacked.bytes == (tmp_path / "r.ova").stat().st_size
    assert repacked.dropped[0][0] == "vm.mf" and type(repacked.dropped[0]) is tuple
    assert repacked.to_dict()["dropped"] == [list(pair) for pair in repacked.dropped]

    edited = check_result(Ova.edit_in_place(tmp_path / "r.ova", memory_mb=512))
    before, after = edited.descriptor_size
    assert type(before) is int and type(after) is int
    assert isinstance(edited.to_dict()["descriptor_size"], list)

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=ovakit results", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    signed = check_result(sign(out, tmp_path / "s.ova", key, certificate=cert))
    assert signed.certificate == "vm.cert"
    verdict = check_result(Ova.open(tmp_path / "s.ova").verify_signature(trust=cert))
    assert verdict.signature_valid and verdict.chain_trusted and verdict.encoding == "hex"

    extracted = Ova.open(out).extract(tmp_path / "x")
    assert len(extracted) == 3


def test_disk_reports(tmp_path, raw):
    vmdk = tmp_path / "d.vmdk"
    written = check_result(raw_to_vmdk(raw, vmdk, digest="sha256"))
    assert written.digest == hashlib.sha256(vmdk.read_bytes()).hexdigest()
    info = check_result(vmdk_info(vmdk))
    assert info.capacity == written.capacity and info.problems == ()
    assert info.descriptor.extents[0].kind == "SPARSE"
    assert dict(info.descriptor.ddb)["ddb.adapterType"] == "lsilogic"
    read = check_result(vmdk_to_raw(vmdk, tmp_path / "back.raw"))
    assert read.grains == written.grains

    infos = {}
    for fmt in ["qcow2", "vhd", "vmdk", "raw"]:
        out = tmp_path / f"c.{fmt}"
        converted = check_result(disk.convert(raw, out))
        assert converted.from_ == "raw" and converted.to == fmt
        assert converted.to_dict()["from"] == "raw"
        infos[fmt] = check_result(disk.info(out))
    assert type(infos["qcow2"]) is disk.Qcow2Info and infos["qcow2"].virtual_size >= raw.stat().st_size
    assert type(infos["vhd"]) is disk.VhdInfo and len(infos["vhd"].geometry) == 3
    assert type(infos["vmdk"]) is disk.VmdkInfo and infos["vmdk"].format == "vmdk"
    assert infos["vmdk"].to_dict()["format"] == "vmdk"
    assert type(infos["raw"]) is disk.RawInfo and infos["raw"].file_size == raw.stat().st_size
    assert len({infos["qcow2"], infos["vhd"], infos["raw"]}) == 3

    build_ova(raw, tmp_path / "vm.ova", "vm")
    result = check_result(disk.convert_ova(tmp_path / "vm.ova", tmp_path / "o.qcow2"))
    assert result.disk.by_default and result.summary.to == "qcow2"
    assert set(result.to_dict()) == {"disk", "summary"}


# ---- ovakit.s3 --------------------------------------------------------------------------------


def test_s3_results(s3, bucket, moto_endpoint, tmp_path):
    data = os.urandom(11 << 20)
    src = tmp_path / "obj.bin"
    src.write_bytes(data)
    ticks = []
    report = check_result(s3.copy(src, bucket, "obj.bin", part_size=5 << 20, sha256=True,
                                  metadata=[("origin", "test")], progress=ticks.append))
    assert report.bytes == len(data) and report.parts == 3
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    for t in ticks:
        check_result(t, ["bytes_read", "bytes_uploaded", "parts_done", "parts_total", "elapsed"])
    assert ticks[-1].bytes_uploaded == len(data)
    head = check_result(s3.head_object(bucket, "obj.bin"))
    assert head.size == len(data) and head.metadata == {"origin": "test"}
    assert hash(head) == hash(check_result(s3.head_object(bucket, "obj.bin")))
    copied = check_result(s3.copy_object(bucket, "obj.bin", bucket, "copy.bin"))
    assert copied.bytes == len(data)
    import boto3

    boto = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    boto.create_multipart_upload(Bucket=bucket, Key="stale")
    (upload,) = s3.list_multipart_uploads(bucket)
    check_result(upload, ["key", "upload_id", "initiated"])
    assert upload.key == "stale"
    assert s3.abort_incomplete_uploads(bucket) == [upload]


# ---- ovakit.cloudstack -----------------------------------------------------------------------


def test_cloudstack_results_match_the_raw_api(tmp_path, small_ova):
    from .ovakit_helpers import FileServer

    server = FileServer(small_ova.parent)
    try:
        with Simulator(pending_polls=1) as sim:
            cs = sim.client()
            for typed, command, key in [
                (cs.list_zones(), "listZones", "zone"),
                (cs.list_os_types(), "listOsTypes", "ostype"),
                (cs.list_service_offerings(), "listServiceOfferings", "serviceoffering"),
            ]:
                raw = cs.request(command)[key]
                assert [x.to_dict() for x in typed] == raw
                for x in typed:
                    check_result(x)
            zone = cs.list_zones()[0]
            assert isinstance(zone, ovakit.cloudstack.Zone) and zone in {zone}
            assert zone.to_dict() == {**zone.extra, **{
                f.name: getattr(zone, f.name) for f in dataclasses.fields(zone)
                if f.name != "extra" and getattr(zone, f.name) is not None
            }}

            registered = cs.register_template(
                name="t", displaytext="t", url=server.url(small_ova.name), zoneid=zone.id,
                ostypeid=cs.list_os_types()[0].id, format="OVA", hypervisor="VMware",
                isextractable=True,
                checksum="{SHA-256}" + hashlib.sha256(small_ova.read_bytes()).hexdigest(),
            )
            check_result(registered)
            ready = check_result(cs.wait_template_ready(registered.id))
            assert ready.isready is True and type(ready.size) is int
            listed = cs.list_templates()
            assert [t.to_dict() for t in listed] == cs.request(
                "listTemplates", templatefilter="self"
            )["template"]

            ticks = []
            vm = cs.deploy_virtual_machine(zoneid=zone.id, templateid=ready.id,
                                           serviceofferingid=cs.list_service_offerings()[0].id)
            check_result(vm)
            assert vm.state == "Running" and "password=" not in repr(vm)
            for step in (cs.stop_virtual_machine(vm.id), cs.start_virtual_machine(vm.id)):
                check_result(step)
            started = cs.request("rebootVirtualMachine", id=vm.id)
            outcome = check_result(cs.wait_job(started["jobid"], progress=ticks.append))
            assert outcome.status == "succeeded" and outcome.result["id"] == vm.id
            for t in ticks:
                check_result(t, ["job_id", "command", "polls", "elapsed", "jobprocstatus",
                                 "instance_id"])
            job = check_result(cs.query_async_job_result(started["jobid"]))
            assert job.jobstatus == 1 and type(job.jobstatus) is int
            assert job.jobresult == job.extra["jobresult"]
            for j in cs.list_async_jobs():
                check_result(j)

            exported = check_result(cs.extract_template(ready.id))
            assert exported.extract_mode == "HTTP_DOWNLOAD"
            assert exported.to_dict()["extractMode"] == "HTTP_DOWNLOAD"
            with urllib.request.urlopen(exported.download_url) as resp:
                assert resp.read() == small_ova.read_bytes()

            apis = cs.list_apis()
            for a in apis:
                check_result(a)
            deploy = next(a for a in apis if a.name == "deployVirtualMachine")
            assert deploy.isasync is True
            param = next(p for p in deploy.params if p.name == "zoneid")
            assert param.required is True and param.to_dict()["type"] == param.kind

            check_result(cs.destroy_virtual_machine(vm.id, expunge=True))
            assert cs.delete_template(ready.id) is None
    finally:
        server.close()


def test_cloudstack_classes_name_every_field_the_client_types(corpus):
    """Each CloudStack class names the fields cloudstack-client's typed view reads (its
    types.rs): a field added there cannot end up unnoticed in `extra`."""
    import re

    from .ovakit_helpers import REPO

    text = (REPO / "cloudstack-client" / "src" / "types.rs").read_text()
    renames = {"r#type": "kind"}
    checked = 0
    for macro, name, body in re.findall(r"(with_id|model)!\(\s*(?:///[^\n]*\n\s*)*(\w+) \{(.*?)\n\s*\}\s*\);", text, re.S):
        fields = re.findall(r'"lenient_\w+" (r#\w+|\w+)(?: as "\w+")?:', body)
        if macro == "with_id":
            fields.append("id")
        cls = getattr(results, name)
        names = {f.name for f in dataclasses.fields(cls)}
        for f in fields:
            assert renames.get(f, f) in names, f"{name}.{f} has no attribute in ovakit.results"
        checked += 1
    assert checked >= 8


def test_every_native_member_is_in_the_stubs():
    """The stubs name every class, method, property and function the native module has."""
    import ast
    import importlib.resources

    from ovakit import _ovakit

    tree = ast.parse(importlib.resources.files("ovakit").joinpath("_ovakit.pyi").read_text())
    stubbed = {}
    functions = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            stubbed[node.name] = {
                n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
                and hasattr(n, "name")
            } | {
                n.target.id for n in node.body
                if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            }
        elif isinstance(node, ast.FunctionDef):
            functions.add(node.name)
    for name in dir(_ovakit):
        obj = getattr(_ovakit, name)
        if name.startswith("_"):
            continue
        if isinstance(obj, type):
            assert name in stubbed, f"class {name} is not in _ovakit.pyi"
            for member in vars(obj):
                if not member.startswith("_"):
                    assert member in stubbed[name], f"{name}.{member} is not in _ovakit.pyi"
        elif callable(obj):
            assert name in functions, f"function {name} is not in _ovakit.pyi"


def test_result_classes_are_exported_and_frozen():
    for name in results.__all__:
        cls = getattr(results, name)
        if typing.get_origin(cls) is typing.Union:
            continue
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name
        assert cls.__hash__ is not None, name
    exported = set()
    for module in (ovakit.ova, ovakit.disk, ovakit.s3, ovakit.cloudstack):
        exported |= {n for n in module.__all__ if n in results.__all__}
    assert exported == set(results.__all__)


def test_register_template_checked_with_the_4_20_parameters(small_ova):
    """The typed registerTemplate: checksum, arch, deployasis and zoneids reach the server (the
    simulator verifies the checksum after its download), the rows are Templates, a checksum
    that differs fails the wait with the server's text, and a malformed one is refused before
    anything is sent."""
    from .ovakit_helpers import FileServer

    digest = hashlib.sha256(small_ova.read_bytes()).hexdigest()
    server = FileServer(small_ova.parent)
    try:
        with Simulator(pending_polls=1) as sim:
            cs = sim.client()
            zone = cs.list_zones()[0]
            ostype = cs.list_os_types()[0].id
            common = dict(format="OVA", hypervisor="VMware", ostypeid=ostype,
                          url=server.url(small_ova.name))
            rows = cs.register_template_checked(
                "good", zoneids=["-1"], checksum="{SHA-256}" + digest, arch="x86_64",
                deployasis=True, isextractable=True, **common,
            )
            assert rows and all(type(t) is ovakit.cloudstack.Template for t in rows)
            for t in rows:
                check_result(t)
                assert t.isready is False and t.arch == "x86_64"
                assert t.deployasis is True and t.directdownload is False
                assert t.crosszones is True and (t.checksum or "").endswith(digest)
                assert not {"arch", "deployasis", "crossZones", "checksum"} & set(t.extra)
                assert t.to_dict()["crossZones"] is True
            ready = cs.wait_template_ready_in(rows[0].id)
            assert [t.zoneid for t in ready] == [t.zoneid for t in rows]
            assert all(t.isready is True and type(t.size) is int for t in ready)
            assert cs.wait_template_ready_in(rows[0].id, [zone.id])[0].zoneid == zone.id

            bad = cs.register_template_checked(
                "bad", zoneids=[zone.id], checksum="{SHA-256}" + "0" * 64, **common
            )
            with pytest.raises(ovakit.CloudStackError) as err:
                cs.wait_template_ready_in(bad[0].id, [zone.id])
            assert "checksum" in str(err.value).lower()

            sent = sim.request_count
            with pytest.raises(ovakit.CloudStackError, match="checksum"):
                cs.register_template_checked("x", zoneids=[zone.id], checksum="{SHA-256}abc",
                                             **common)
            assert sim.request_count == sent
    finally:
        server.close()


def test_a_field_no_class_names_is_refused_or_kept():
    """A dict key a class does not name is an error (a field added in Rust must get an
    attribute), except on CloudStack objects, which keep the server's other fields in extra."""
    with pytest.raises(TypeError, match="ArchiveEnd: unexpected field 'new_field'"):
        results.ArchiveEnd._from_dict(
            {"data_end": 1, "zero_blocks": 2, "missing_end_marker": False, "truncated": False,
             "new_field": 3}
        )
    zone = results.Zone._from_dict({"id": "7", "name": "z", "securitygroupsenabled": True})
    assert zone.extra == {"securitygroupsenabled": True} and zone.name == "z"
    assert zone.to_dict() == {"id": "7", "name": "z", "securitygroupsenabled": True}
    assert hash(zone) == hash(results.Zone._from_dict(zone.to_dict()))
    assert zone != results.Zone._from_dict({"id": "7", "name": "z"})
