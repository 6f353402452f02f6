"""The policy zoo: every shipped policy has a measured card and still scores what it says."""

from __future__ import annotations

import json

import pytest

from sim2real.errors import ModelFileError
from sim2real.evaluation import parse_target
from sim2real.evaluation.agents import load_agent
from sim2real.evaluation.episodes import evaluate
from sim2real.zoo import card_targets, list_policies, read_card, resolve_location, zoo_policy
from tests.cli_runner import error_line, invoke

POLICIES = list_policies()
RECHECKED_EPISODES = 3


def test_the_zoo_is_not_empty_and_every_policy_has_a_card() -> None:
    assert POLICIES
    for p in POLICIES:
        card = read_card(p)
        assert card is not None, f"{p.name}: no card.json (python benchmarks/zoo_cards.py)"
        assert (p.path / "README.md").is_file()
        assert (card.policy, card.env, card.algo) == (p.name, p.env, p.algo)
        assert [e.target for e in card.evaluations] == card_targets(p)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_a_shipped_policy_still_scores_what_its_card_says(policy) -> None:
    """Re-run the card's first episodes (same seeds): an env change that breaks it fails here."""
    card = read_card(policy)
    assert card is not None
    agent = load_agent(policy.path)
    for entry in card.evaluations:
        env, which = parse_target(entry.target)
        got = evaluate(agent, env, which, episodes=RECHECKED_EPISODES, seed=entry.seed).returns
        for new, old in zip(got, entry.returns[:RECHECKED_EPISODES]):
            assert new == pytest.approx(old, rel=0.01, abs=1.0), entry.target
        lo, hi = entry.ci95
        if lo is not None and hi is not None:
            assert min(entry.returns) <= sum(got) / len(got) <= max(entry.returns)


def test_zoo_names_resolve_by_folder_and_by_env() -> None:
    p = POLICIES[0]
    assert zoo_policy(p.name) == p
    assert resolve_location(f"zoo:{p.name}") == p.path
    if sum(q.env == p.env for q in POLICIES) == 1:
        assert resolve_location(f"zoo:{p.env}") == p.path
    assert str(resolve_location("runs/x")) == "runs/x"
    with pytest.raises(ModelFileError, match=r"no zoo policy 'nonsense'.*shipped"):
        zoo_policy("nonsense")


def test_policies_cli_lists_shows_and_commands_take_zoo_names() -> None:
    p = POLICIES[0]
    listed = invoke("policies", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert p.name in [row["name"] for row in json.loads(listed.stdout)]
    shown = invoke("policies", "show", f"zoo:{p.name}", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["card"]["policy"] == p.name
    ev = invoke("evaluate", f"zoo:{p.name}", "--episodes", "1", "--json")
    assert ev.returncode == 0, ev.stderr
    assert "no zoo policy" in error_line(invoke("evaluate", "zoo:nonsense", "--episodes", "1"))
    assert "no zoo policy" in error_line(invoke("policies", "show", "nonsense"))


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_a_shipped_export_deploys_on_its_env_with_the_recorded_env_settings(policy) -> None:
    """The export runs in the real-time loop on the env it was trained on, built with the
    settings it records (the A1's gait: trot adds two observations)."""
    from sim2real.evaluation.deploy import deploy

    report = deploy(policy.path / "export", None, "nominal", seconds=0.2)
    assert report["ticks"] > 0
