"""Settings: defaults, file, environment and overrides, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguin_actors.config import Settings, load_settings
from penguin_actors.errors import ConfigError


def test_defaults_are_safe() -> None:
    """Without a file or variables the server binds loopback, on 8000, with Ray token auth."""
    settings = load_settings(env={})
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    assert settings.server.api_key is None
    assert settings.ray.auth_mode == "token"
    assert settings.ray.namespace == "penguin"
    assert settings.resolved_storage_uri == str(settings.workspace / ".penguin" / "db")


def test_yaml_file_is_read(tmp_path: Path) -> None:
    """Keys of the YAML file land in their sections."""
    path = tmp_path / "penguin.yaml"
    path.write_text("server:\n  port: 9001\nactivation:\n  max_active: 3\nworkspace: ws\n")
    settings = load_settings(path, env={})
    assert settings.server.port == 9001
    assert settings.activation.max_active == 3
    assert settings.workspace.is_absolute() and settings.workspace.name == "ws"


def test_env_shortcuts_and_nested_keys_override_the_file(tmp_path: Path) -> None:
    """PENGUIN_PORT and PENGUIN_SECTION__KEY win over the file; PENGUIN_CONFIG names the file."""
    path = tmp_path / "p.yaml"
    path.write_text("server:\n  port: 9001\n")
    env = {
        "PENGUIN_CONFIG": str(path),
        "PENGUIN_PORT": "9002",
        "PENGUIN_API_KEY": "s3cret",
        "PENGUIN_WORKSPACE": str(tmp_path / "w"),
        "PENGUIN_ACTIVATION__IDLE_TIMEOUT_S": "12.5",
        "PENGUIN_SERVER__CORS_ORIGINS": '["http://localhost:3000"]',
    }
    settings = load_settings(env=env)
    assert settings.server.port == 9002
    assert settings.server.api_key is not None and settings.server.api_key.get_secret_value() == "s3cret"
    assert settings.workspace == (tmp_path / "w").resolve()
    assert settings.activation.idle_timeout_s == 12.5
    assert settings.server.cors_origins == ["http://localhost:3000"]


def test_overrides_win_over_everything() -> None:
    """Command-line overrides beat the environment; None means 'not given'."""
    settings = load_settings(env={"PENGUIN_PORT": "9002"}, overrides={"server.port": 9003, "server.host": None})
    assert settings.server.port == 9003
    assert settings.server.host == "127.0.0.1"


def test_unknown_key_is_named_with_the_allowed_ones(tmp_path: Path) -> None:
    """A misspelt key fails, naming the key and listing what is allowed there."""
    path = tmp_path / "p.yaml"
    path.write_text("server:\n  prot: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "server.prot: unknown key" in info.value.message
    assert "port" in info.value.message and "host" in info.value.message


def test_bad_value_is_named_with_what_is_allowed() -> None:
    """An out-of-range or wrong-typed value names its key and the rule it broke."""
    with pytest.raises(ConfigError) as info:
        load_settings(env={"PENGUIN_PORT": "70000", "PENGUIN_RAY__AUTH_MODE": "maybe"})
    message = info.value.message
    assert "server.port: Input should be less than or equal to 65535" in message
    assert "ray.auth_mode: Input should be 'token' or 'disabled'" in message


def test_unknown_key_inside_a_model_entry_is_named() -> None:
    """Entries of the model catalog are checked key by key too."""
    with pytest.raises(ConfigError) as info:
        load_settings(env={"PENGUIN_MODELS__CATALOG": '[{"id": "m", "name": "a/b", "provider": "sim", "colour": 1}]'})
    assert "models.catalog.0.colour: unknown key" in info.value.message
    assert "vision_enabled" in info.value.message


def test_wildcard_cors_origin_is_refused() -> None:
    """'*' is never a CORS origin: credentials are allowed, so origins are listed."""
    with pytest.raises(ConfigError, match="cors_origins"):
        load_settings(env={"PENGUIN_SERVER__CORS_ORIGINS": '["*"]'})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("- a\n- b\n", "must hold a mapping"), ("server: [\n", "cannot be read as YAML")],
)
def test_malformed_file_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    """A file that is not a YAML mapping is refused with a reason."""
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_settings(path, env={})


def test_missing_file_is_refused(tmp_path: Path) -> None:
    """A named config file must exist."""
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    """An empty file is the defaults."""
    path = tmp_path / "p.yaml"
    path.write_text("")
    assert load_settings(path, env={}).server == Settings().server


def test_example_config_is_valid() -> None:
    """The commented example in the repository loads as it is."""
    example = Path(__file__).parents[2] / "penguin.example.yaml"
    settings = load_settings(example, env={})
    assert settings.models.catalog is None or len(settings.models.catalog) >= 1


def test_memory_embeddings_are_off_unless_configured(tmp_path: Path) -> None:
    """No section: full-text memory only. A file section or one variable turns them on, defaults filled in."""
    assert load_settings(env={}).memory.embeddings is None
    path = tmp_path / "penguin.yaml"
    path.write_text("memory:\n  embeddings:\n    model: text-embedding-3-large\n    dimensions: 256\n")
    from_file = load_settings(path, env={}).memory.embeddings
    assert from_file is not None and (from_file.model, from_file.dimensions) == ("text-embedding-3-large", 256)
    assert (from_file.provider, from_file.batch_size, from_file.api_key_env) == ("openai", 64, None)
    from_env = load_settings(env={"PENGUIN_MEMORY__EMBEDDINGS__BATCH_SIZE": "8"}).memory.embeddings
    assert from_env is not None and from_env.batch_size == 8


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"dimensions": 0}, "memory.embeddings.dimensions: Input should be greater than or equal to 8"),
        ({"dimensions": 10_000}, "memory.embeddings.dimensions: Input should be less than or equal to 8192"),
        ({"batch_size": 0}, "memory.embeddings.batch_size: Input should be greater than or equal to 1"),
        ({"batch_size": 4096}, "memory.embeddings.batch_size: Input should be less than or equal to 2048"),
        ({"min_similarity": 1.0}, "memory.embeddings.min_similarity: Input should be less than 1"),
        ({"query_timeout_s": 0}, "memory.embeddings.query_timeout_s: Input should be greater than 0"),
        ({"model": ""}, "memory.embeddings.model: String should have at least 1 character"),
        ({"provider": "cohere"}, "memory.embeddings.provider: Input should be 'openai' or 'openai-compatible'"),
        (
            {"provider": "openai-compatible"},
            "needs base_url: give the server's API URL, e.g. http://localhost:11434/v1",
        ),
        ({"base_url": "localhost:11434"}, "memory.embeddings.base_url: Value error, must be an http:// or https://"),
        ({"colour": "blue"}, "memory.embeddings.colour: unknown key; allowed here: api_key_env, base_url, batch_size"),
    ],
)
def test_bad_embedding_settings_say_what_to_do(section: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, overrides={"memory.embeddings": section})
    assert expected in caught.value.message


def test_a_key_given_as_the_variable_name_is_refused_without_repeating_it() -> None:
    """api_key_env names a variable; a key pasted there is refused, and the message does not show it."""
    key = "sk-proj-abc123-very-secret"
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, overrides={"memory.embeddings": {"api_key_env": key}})
    assert "memory.embeddings.api_key_env: Value error, must name an environment variable" in caught.value.message
    assert key not in caught.value.message
