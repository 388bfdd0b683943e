"""`mmkg-tui run --distributed --hosts FILE`: the hosts file reaches the launcher."""

from engine import api
from mmkg_tui.cli.main import main


def test_hosts_file_reaches_the_launcher(tmp_path, monkeypatch):
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("local\nssh 10.0.0.2 /srv/mmkg\n")
    seen = {}

    def fake_run_distributed(part_config, ip_config, config, **kw):
        seen.update(kw, part_config=part_config, ip_config=ip_config)
        return 0

    monkeypatch.setattr(api, "run_distributed", fake_run_distributed)
    def args(hosts_file):
        return ["run", "--distributed", "--part-config", str(tmp_path / "p.json"), "--ip-config", str(tmp_path / "ip"),
                "--hosts", str(hosts_file), "--objective", "sage", "--no-train-as-test", "--select-metric", "none"]

    assert main(args(hosts)) == 0
    assert [type(h).__name__ for h in seen["hosts"]] == ["Host", "SshHost"]
    assert seen["hosts"][1].address == "10.0.0.2"
    bad = tmp_path / "bad.txt"
    bad.write_text("telnet 10.0.0.2\n")
    assert main(args(bad)) == 2  # a ConfigError naming the file and line
