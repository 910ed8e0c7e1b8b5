"""Workspace forms: they shape HTML input into what the services take. Every rule about
what is allowed lives in the services (gate_save and its friction guard, scoring_rule_save,
webhook_endpoint_save, ...), which the views call and whose errors they show inline; where
a form checks early (origins, upload size), it asks the service's own rule. One check is the
workspace's own: the rule editor refuses a section or file key that the rule's gate (or,
for any gate, every gate) lacks, since a mistyped key saves a rule that never matches; the
marketer API keeps its contract, which takes such a key."""

from forms_app.workspace.forms.gates import FileFormSet, GateForm, QuestionFormSet, SectionFormSet
from forms_app.workspace.forms.scoring import RuleForm, ThresholdsForm
from forms_app.workspace.forms.sources import CostForm, SourceForm
from forms_app.workspace.forms.webhooks import WebhookForm

__all__ = [
    "CostForm",
    "FileFormSet",
    "GateForm",
    "QuestionFormSet",
    "RuleForm",
    "SectionFormSet",
    "SourceForm",
    "ThresholdsForm",
    "WebhookForm",
]
