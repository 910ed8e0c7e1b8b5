"""Scoring configuration writes own their rules: a rule is checked as the whole rule it
produces (scoring_rule_check for a draft, scoring_rule_save), and the warm threshold stays
below the hot one whatever part of the settings a caller changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from profiling.models import ScoringRule, ScoringSettings
from profiling.services.rules import scoring_rule_check, scoring_rule_save, scoring_settings_update
from tests.support.factories import make_gate, make_rule, set_thresholds

pytestmark = pytest.mark.django_db


def test_rule_check_makes_a_draft_and_changes_nothing() -> None:
    gate = make_gate(sections=("why",))
    rule = make_rule(gate=gate, points=10, name="Reads")
    draft = scoring_rule_check(rule=rule, data={"points": 25, "section_key": "why"})
    assert (draft.pk, draft.points, draft.section_key) == (rule.pk, 25, "why")
    assert (rule.points, rule.section_key) == (10, "")  # the caller's instance is untouched
    rule.refresh_from_db()
    assert rule.points == 10

    with pytest.raises(ValidationError) as refused:
        scoring_rule_check(rule=rule, data={"section_key": "nope"})
    assert "has no section 'nope'" in refused.value.message_dict["section_key"][0]
    new = scoring_rule_check(data={"name": "New", "event_type": "page_view", "points": 1})
    assert new.pk is None
    assert ScoringRule.objects.count() == 1


def test_rule_save_refuses_what_check_refuses(django_capture_on_commit_callbacks: Any) -> None:
    data = {"name": "Profile", "event_type": "profile", "points": 5}
    with pytest.raises(ValidationError) as checked:
        scoring_rule_check(data=data)
    with pytest.raises(ValidationError) as saved:
        scoring_rule_save(data=data)
    assert checked.value.message_dict == saved.value.message_dict
    assert "profile_condition" in saved.value.message_dict
    assert ScoringRule.objects.count() == 0


def test_settings_keep_warm_below_hot(django_capture_on_commit_callbacks: Any) -> None:
    set_thresholds(warm=30, hot=80)
    with pytest.raises(ValidationError) as refused:
        scoring_settings_update(data={"warm_threshold": 80})
    assert refused.value.message_dict == {"warm_threshold": ["Must be lower than hot_threshold."]}
    with pytest.raises(ValidationError):
        scoring_settings_update(data={"hot_threshold": 20})
    row = ScoringSettings.objects.get(pk=1)
    assert (row.warm_threshold, row.hot_threshold) == (30, 80)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scoring_settings_update(data={"hot_threshold": 50})
    assert callbacks, "a change re-grades every lead"
    assert ScoringSettings.objects.get(pk=1).hot_threshold == 50
