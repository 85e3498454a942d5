"""Model providers come from a registry: a toy provider in a plugin module, found through RAPPORT_PROVIDERS
(or a `rapport.providers` entry point), is usable from the CLI like a built-in one."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from simulator.config import ModelSpec, parse_model_spec
from simulator.errors import ConfigError
from simulator.models import build_chat_model, describe_model_error, registry

TOY_PLUGIN = '''
"""A toy provider: one module, one registration line."""
from simulator.errors import ModelError
from simulator.models import ChatProvider, ScriptedChatModel, register


class ToyProvider(ChatProvider):
    name = "toy"
    usage = "toy[:VOICE]"

    def build(self, spec, role):
        voice = spec.model or "plain"
        return ScriptedChatModel(respond=lambda messages: f"toy {voice} {role} says hi, rapport")

    def describe_error(self, exc, spec, role):
        return ModelError(f"the toy {role} model tripped: {exc}") if isinstance(exc, KeyError) else None

    def pool_key(self, spec, shard):
        return shard % 2


register(ToyProvider())
'''


@pytest.fixture
def toy_provider(tmp_path, monkeypatch):
    """The toy plugin module on the Python path and named by RAPPORT_PROVIDERS; unregistered afterwards."""
    (tmp_path / "toy_rapport_plugin.py").write_text(textwrap.dedent(TOY_PLUGIN), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(registry.PLUGINS_ENV, "toy_rapport_plugin")
    yield
    registry.unregister(registry.get("toy"))
    registry._imported.discard("toy_rapport_plugin")  # so the next test imports (and registers) it afresh
    import sys

    sys.modules.pop("toy_rapport_plugin", None)


def test_builtin_providers_and_their_capabilities():
    assert registry.names()[:3] == ["openai", "embedded", "fake"]
    assert registry.supports_structured_output(parse_model_spec("openai:gpt-4o-mini"))
    assert not registry.supports_structured_output(parse_model_spec("fake"))
    assert not registry.supports_structured_output(None)
    openai, embedded = parse_model_spec("openai:m@http://127.0.0.1:9/v1"), parse_model_spec("embedded")
    assert (registry.provider_for(openai).pool_key(openai, 5), registry.provider_for(embedded).pool_key(embedded, 5)) == (5, 0)


def test_an_unknown_provider_is_one_line_naming_the_registered_ones():
    with pytest.raises(ConfigError, match=r"unknown model provider 'toy' in 'toy:x'; use openai\[:MODEL\]\[@URL\], "
                                          r"embedded\[:qwen-1.5b\|qwen-0.5b\|gemma-270m\|PATH.gguf\] or fake$"):
        parse_model_spec("toy:x")
    with pytest.raises(ValueError, match="unknown model provider 'toy'"):
        ModelSpec(provider="toy")


def test_a_plugin_module_that_does_not_import_is_one_line(monkeypatch):
    monkeypatch.setenv(registry.PLUGINS_ENV, "no_such_rapport_plugin")
    with pytest.raises(ConfigError, match="RAPPORT_PROVIDERS: cannot import provider module 'no_such_rapport_plugin'"):
        parse_model_spec("toy")  # plugins are imported when a name is not built in
    assert parse_model_spec("fake").provider == "fake"  # a built-in name never needs them


def test_a_plugin_provider_is_registered_and_asked(toy_provider):
    spec = parse_model_spec("toy:bright")
    assert "toy" in registry.names() and registry.usage().endswith("fake or toy[:VOICE]")
    assert spec.label == "toy:bright" and not spec.is_embedded_default
    assert registry.provider_for(spec).pool_key(spec, 3) == 1
    assert build_chat_model(spec, "judge").invoke("hello").content == "toy bright judge says hi, rapport"
    assert str(describe_model_error(KeyError("x"), spec, "persona")) == "the toy persona model tripped: 'x'"
    assert "failed: boom" in str(describe_model_error(RuntimeError("boom"), spec, "persona"))  # the generic message


def test_a_plugin_provider_is_used_from_the_cli(toy_provider, library):
    from rapport.cli.root import app

    runner = CliRunner()
    listed = runner.invoke(app, ["models"], env={"RAPPORT_PERSONA_MODEL": "toy:bright"})
    assert listed.exit_code == 0, (listed.output, listed.exception)
    assert "toy:bright" in listed.stdout and "openai, embedded, fake, toy" in listed.stdout

    tested = runner.invoke(app, ["models", "test", "persona"], env={"RAPPORT_PERSONA_MODEL": "toy:bright"})
    assert tested.exit_code == 0, (tested.output, tested.exception)
    assert "ok: toy:bright answered" in tested.stdout and "toy bright persona says hi" in tested.stdout

    chatted = runner.invoke(app, ["chat", "procurement-skeptic", "--model", "toy:calm", "--no-save"],
                            input="Hello Dana, what went wrong last time?\n/end\n")
    assert chatted.exit_code == 0, (chatted.output, chatted.exception)
    assert "toy calm persona says hi" in chatted.stdout


def test_a_plugin_may_not_take_a_built_in_name():
    class Impostor(registry.ChatProvider):
        name, usage = "openai", "openai"

        def build(self, spec, role):
            raise AssertionError("never built")

    with pytest.raises(ConfigError, match="the name 'openai' is taken by simulator.models.openai_compat"):
        registry.register(Impostor())
    assert registry.get("openai").structured_output


def test_an_entry_point_registers_a_provider(tmp_path, monkeypatch):
    """An installed package exposes its provider module in the `rapport.providers` entry-point group."""
    (tmp_path / "toy_rapport_plugin.py").write_text(textwrap.dedent(TOY_PLUGIN), encoding="utf-8")
    dist = tmp_path / "toy_rapport_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-rapport-plugin\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[rapport.providers]\ntoy = toy_rapport_plugin\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)  # entry points are read once per process
    try:
        assert parse_model_spec("toy").label == "toy"
    finally:
        registry.unregister(registry.get("toy"))
        registry._imported.discard("toy_rapport_plugin")
        import sys

        sys.modules.pop("toy_rapport_plugin", None)
