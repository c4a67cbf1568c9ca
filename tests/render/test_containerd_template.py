"""The k3s/RKE2 containerd template keeps their base template and adds the NVIDIA runtime only where they did not."""

from __future__ import annotations

from gpuctl.provision.roles import all_defaults

from .hostfiles import TemplateTask, render


def _render(**over: object) -> str:
    task = TemplateTask("containerd", "containerd-config.toml.tmpl.j2", "", ())
    variables = {**all_defaults(), "ansible_managed": "Ansible managed", **over}
    return render(task, variables)


def test_k3s_template_extends_the_base_and_guards_the_nvidia_runtime() -> None:
    text = _render(containerd_nvidia_runtime=True)
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith(("{{/*", "default", "since", "it "))]
    assert lines[0] == '{{ template "base" . }}'
    assert lines[1] == '{{ if not (index .ExtraRuntimes "nvidia").BinaryName }}'
    assert '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes."nvidia".options]' in text
    assert 'BinaryName = "/usr/bin/nvidia-container-runtime"' in text
    assert lines[-1] == "{{ end }}"


def test_k3s_template_without_gpus_is_the_base_only() -> None:
    text = _render(containerd_nvidia_runtime=False)
    code = [ln for ln in text.splitlines() if ln.startswith("{{") and not ln.startswith("{{/*")]
    assert code == ['{{ template "base" . }}']
    assert "runtimes" not in text
