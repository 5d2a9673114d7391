"""harness/real: presets, rendering, scaled timeouts, skip reasons and the hop syntax (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet import real
from gauntlet.errors import ScenarioError
from gauntlet.real.launch import command
from gauntlet.scenario import load_intermediaries
from gauntlet.spec import HopSpec, scale_hop, scaled_timeouts_s


def timeouts_record(name: str, time_scale: float) -> dict:
    """What a real hop's results entry says about its timeouts at this scale."""
    return scale_hop(HopSpec((), real.device_of(name).mode, real=name), time_scale).record()[
        "timeouts"
    ]


def rendered(
    name: str,
    workdir: Path,
    scale: float = 30,
    listen: str = "127.0.0.1:1",
    upstream: str = "127.0.0.1:2",
    as_root: bool = False,
) -> str:
    """`name`'s configuration as real.render writes it, its timeouts scaled by `scale`."""
    return real.render(
        name,
        workdir=workdir,
        listen=listen,
        upstream=upstream,
        timeouts_s=scaled_timeouts_s(name, scale),
        as_root=as_root,
    )


def directives(text: str) -> str:
    """The config without its comment lines (which cite the directives they leave out)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def test_every_preset_renders_with_every_placeholder_filled(tmp_path):
    for name in real.PRESETS:
        text = rendered(name, tmp_path, listen="127.0.0.1:1234", upstream="127.0.0.1:5678")
        assert "@" not in text.replace("fd@", ""), name


def test_nginx_timeouts_are_scaled_and_written_in_ms(tmp_path):
    text = directives(rendered("nginx:defaults", tmp_path))
    assert "proxy_read_timeout 2000ms;" in text
    assert "proxy_pass http://127.0.0.1:2;" in text
    assert "proxy_http_version" not in text and "proxy_buffering" not in text  # defaults
    tuned = rendered("nginx:tuned", tmp_path, scale=1, as_root=True)
    assert "proxy_buffering off;" in tuned and "proxy_http_version 1.1;" in tuned
    assert "proxy_read_timeout 60000ms;" in tuned and "user root;" in tuned


def test_timeouts_record_both_values():
    assert timeouts_record("haproxy:defaults", 30) == {
        "real_s": {"timeout_connect": 5, "timeout_client": 50, "timeout_server": 50},
        "scaled_s": {"timeout_connect": 0.167, "timeout_client": 1.667, "timeout_server": 1.667},
    }
    # squid writes whole seconds: rounded up, at least 1
    assert scaled_timeouts_s("squid:defaults", 30)["read_timeout"] == 30.0
    assert scaled_timeouts_s("squid:defaults", 1000)["read_timeout"] == 1.0


def test_presets_differ_where_the_field_does(tmp_path):
    def text(name):
        return directives(rendered(name, tmp_path, scale=1, upstream="h:2"))

    assert "http-no-delay" in text("haproxy:no_delay")
    assert "http-no-delay" not in text("haproxy:defaults")
    assert "http_access deny CONNECT !SSL_ports" in text("squid:defaults")
    assert "deny CONNECT" not in text("squid:connect_any")
    assert "gzip_types text/event-stream;" in text("nginx:gzip")


def test_unknown_names_say_what_is_known():
    with pytest.raises(ScenarioError, match="unknown preset 'nginx:fast' for nginx .*nginx:tuned"):
        real.preset("nginx:fast")
    with pytest.raises(ScenarioError, match="unknown real device 'lighttpd:x'"):
        real.preset("lighttpd:x")


def test_a_real_hop_runs_in_its_devices_mode_alone():
    with pytest.raises(ScenarioError, match="squid runs as a regular proxy, not reverse"):
        HopSpec((), "reverse", real="squid:defaults")
    with pytest.raises(ScenarioError, match="takes no behaviours"):
        HopSpec(("transparent",), "reverse", real="nginx:tuned")
    assert HopSpec((), "reverse", real="nginx:tuned").label == "nginx:tuned"


def test_every_preset_is_an_intermediary_and_chains_mix_real_and_emulated(tmp_path):
    (tmp_path / "intermediaries.toml").write_text(
        '[mix]\ndescription = "d"\nhops = [{ real = "squid:defaults" }, '
        '{ behaviours = ["idle_timeout"] }, { real = "nginx:tuned" }]\n'
    )
    known = load_intermediaries(tmp_path)
    assert known["nginx:defaults"].hops == (HopSpec((), "reverse", real="nginx:defaults"),)
    assert [h.mode for h in known["mix"].hops] == ["regular", "reverse", "reverse"]
    assert known["mix"].hops[0].real == "squid:defaults"


def test_skip_reason_names_the_package(monkeypatch):
    hops = (HopSpec((), "reverse", real="haproxy:defaults"),)
    monkeypatch.setattr(real, "binary_path", lambda device: None)
    assert "apt-get install haproxy" in (real.skip_reason(hops, "h1") or "")


def test_skip_reason_for_tls_through_a_real_reverse_hop(monkeypatch):
    monkeypatch.setattr(real, "binary_path", lambda device: "/usr/sbin/" + device.binary)
    assert real.skip_reason((HopSpec((), "reverse", real="nginx:tuned"),), "https")
    assert real.skip_reason((HopSpec((), "regular", real="squid:defaults"),), "https") is None
    assert real.skip_reason((HopSpec(("transparent",)),), "https") is None


def test_hop_record_warns_for_external_hops_in_a_scaled_matrix():
    ext = HopSpec((), "regular", external="http://127.0.0.1:3128")
    assert "time scale 1/30" in scale_hop(ext, 30).record()["warning"]
    assert scale_hop(ext, 1).record() == {}
    assert scale_hop(HopSpec(("transparent",)), 30).record() == {}


def test_commands_run_in_the_foreground():
    conf, work = Path("/w/c"), Path("/w")
    assert command("nginx:defaults", "nginx", conf, work, "s")[-2:] == ["-e", "stderr"]
    assert command("haproxy:defaults", "haproxy", conf, work, "s")[1:3] == ["-W", "-db"]
    assert "-N" in command("squid:defaults", "squid", conf, work, "svc")


def test_trafficserver_writes_debians_records_with_scaled_whole_seconds(tmp_path):
    text = directives(
        rendered("trafficserver:defaults", tmp_path, listen="4321:fd=7", as_root=True)
    )
    assert "CONFIG proxy.config.http.server_ports STRING 4321:fd=7" in text
    assert "proxy.config.http.transaction_no_activity_timeout_out INT 1\n" in text  # 30 s / 30
    assert "proxy.config.http.transaction_active_timeout_in INT 30\n" in text  # 900 s / 30
    assert "proxy.config.websocket.no_activity_timeout INT 20\n" in text  # 600 s / 30
    assert "CONFIG proxy.config.admin.user_id STRING #-1" in text  # never switch user
    assert (
        timeouts_record("trafficserver:defaults", 30)["real_s"][
            "transaction_no_activity_timeout_in"
        ]
        == 30
    )


def test_trafficserver_sandbox_keeps_every_path_in_the_hop_dir(tmp_path):
    from gauntlet.real import trafficserver

    conf = tmp_path / "trafficserver" / "records.config"
    conf.parent.mkdir()
    trafficserver.write_sandbox(
        "trafficserver:defaults",
        conf,
        hopdir=tmp_path,
        listen_host="127.0.0.1:4321",
        upstream="127.0.0.1:5678",
        timeouts_s=scaled_timeouts_s("trafficserver:defaults", 30),
        as_root=False,
    )
    runroot = (conf.parent / "runroot.yaml").read_text()
    for key in ("sysconfdir", "runtimedir", "logdir", "cachedir", "localstatedir", "datadir"):
        line = next(x for x in runroot.splitlines() if x.startswith(key + ":"))
        assert line.split(": ", 1)[1].startswith(str(tmp_path)), line
    assert "map / http://127.0.0.1:5678/" in (conf.parent / "remap.config").read_text()
    assert f"{tmp_path}/cache 256M" in (conf.parent / "storage.config").read_text()
    assert (conf.parent / "plugin.config").exists() and (tmp_path / "run").is_dir()
    assert trafficserver.command("/usr/bin/traffic_server", conf) == [
        "/usr/bin/traffic_server",
        f"--run-root={conf.parent / 'runroot.yaml'}",
    ]
