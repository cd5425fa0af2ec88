from __future__ import annotations

from django import forms


class WorkActionForm(forms.Form):
    label = forms.CharField(max_length=100)
    pk = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    action = forms.ChoiceField(choices=[("retry", "retry"), ("discard", "discard")])
