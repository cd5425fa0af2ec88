"""Demo pages: a creator's demos (attach, change, remove, samples), the public demo
page with its Try form, and a visitor's run (progress, then the result)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lavka.core.client_address import client_address
from lavka.core.decorators import permission_required
from lavka.core.work import OPEN_STATES, WorkState
from lavka.demos import actions, selectors
from lavka.demos.forms import DemoForm, SampleForm, TryForm
from lavka.demos.models import DemoRun

View = Callable[..., HttpResponseBase]

viewers = permission_required("demos.view_demo", denied_template="accounts/for_creators.html")


def owners(permission: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        return viewers(permission_required(permission)(view))

    return decorate


@viewers
def my_demos(request: HttpRequest) -> HttpResponse:
    demos = selectors.demos_of(actor=request.user).order_by("pk")
    return render(
        request,
        "demos/my_demos.html",
        {"demos": demos, "sees_all": selectors.sees_all(request.user)},
    )


@owners("demos.add_demo")
def create(request: HttpRequest) -> HttpResponse:
    products = selectors.products_without_demo(actor=request.user)
    form = DemoForm(request.POST or None, products=products)
    if request.method == "POST" and form.is_valid():
        demo = actions.SaveDemo(request.user, form.save(commit=False)).execute()
        flash.success(request, _("Demo attached; its service is being checked."))
        return redirect("demos:edit", demo.pk)
    return render(request, "demos/demo_form.html", {"form": form, "demo": None})


@owners("demos.change_demo")
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    demo = get_object_or_404(selectors.own_demos(actor=request.user), pk=pk)
    form = DemoForm(request.POST or None, instance=demo)
    if request.method == "POST" and form.is_valid():
        actions.SaveDemo(request.user, form.save(commit=False)).execute()
        flash.success(request, _("Demo saved."))
        return redirect("demos:edit", demo.pk)
    return render(
        request,
        "demos/demo_form.html",
        {"form": form, "demo": demo, "sample_form": SampleForm(), "samples": demo.samples.all()},
    )


@require_POST
@owners("demos.delete_demo")
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    demo = get_object_or_404(selectors.own_demos(actor=request.user), pk=pk)
    actions.DeleteDemo(request.user, demo).execute()
    flash.success(request, _("Demo removed."))
    return redirect("demos:my_demos")


@require_POST
@owners("demos.change_demo")
def sample_add(request: HttpRequest, pk: int) -> HttpResponse:
    demo = get_object_or_404(selectors.own_demos(actor=request.user), pk=pk)
    form = SampleForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            actions.AddSample(
                request.user,
                demo,
                form.cleaned_data["file"],
                form.cleaned_data["title"],
                form.cleaned_data["source_note"],
            ).execute()
        except ValidationError as error:
            for message in error.messages:
                form.add_error("file", message)
    if not form.is_valid():
        return render(
            request,
            "demos/demo_form.html",
            {
                "form": DemoForm(instance=demo),
                "demo": demo,
                "sample_form": form,
                "samples": demo.samples.all(),
            },
            status=400,
        )
    flash.success(request, _("Sample added."))
    return redirect("demos:edit", demo.pk)


@require_POST
@owners("demos.change_demo")
def sample_delete(request: HttpRequest, pk: int) -> HttpResponse:
    sample = get_object_or_404(selectors.own_samples(actor=request.user), pk=pk)
    demo_id = sample.demo_id
    actions.DeleteSample(request.user, sample).execute()
    return redirect("demos:edit", demo_id)


def _session_key(request: HttpRequest, *, create: bool = False) -> str:
    if create and not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


def detail(
    request: HttpRequest, pk: int, form: TryForm | None = None, status: int = 200
) -> HttpResponse:
    demo = get_object_or_404(selectors.demos_for_visitor(actor=request.user), pk=pk)
    return render(
        request,
        "demos/detail.html",
        {
            "demo": demo,
            "form": form or TryForm(),
            "samples": demo.samples.all(),
            "is_owner": request.user.is_authenticated
            and demo.product.creator.user_id == request.user.pk,
        },
        status=status,
    )


@require_POST
def try_demo(request: HttpRequest, pk: int) -> HttpResponse:
    demo = get_object_or_404(selectors.demos_for_visitor(actor=request.user), pk=pk)
    form = TryForm(request.POST, request.FILES)
    if not form.is_valid():
        return detail(request, pk, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        run = actions.TryDemo(
            actor=request.user,
            demo=demo,
            upload=upload,
            upload_name=str(upload.name or ""),
            size=int(upload.size or 0),
            session_key=_session_key(request, create=True),
            address=client_address(request),
        ).execute()
    except ValidationError as error:
        for message in error.messages:
            form.add_error("file", message)
        return detail(request, pk, form, status=400)
    except actions.RateLimited:
        return render(request, "demos/rate_limited.html", {"demo": demo}, status=429)
    return redirect("demos:run", run.pk)


def _progress(run: DemoRun) -> dict[str, Any]:
    finished = run.state not in OPEN_STATES
    return {
        "state": run.state,
        "state_label": str(run.get_state_display()),
        "finished": finished,
        "succeeded": run.state == WorkState.DONE,
        "attempts": run.attempts,
        "message": run.last_error,
    }


def _image_uri(run: DemoRun) -> str:
    if not run.result_image:
        return ""
    try:
        with run.result_image.open("rb") as file:
            data = file.read()
    except OSError:
        return ""
    media = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def _run_page(request: HttpRequest, run: DemoRun, *, shared: bool) -> HttpResponse:
    progress = _progress(run)
    return render(
        request,
        "demos/run.html",
        {
            "run": run,
            "demo": run.demo,
            "progress": progress,
            "shared": shared,
            "image": _image_uri(run) if progress["succeeded"] else "",
            "cut_outs": selectors.cut_outs(run.result) if progress["succeeded"] else [],
            "result_json": selectors.shown_json(run.result) if run.result else "",
            "share_url": request.build_absolute_uri(f"/demos/shared/{run.share_token}/"),
        },
    )


def _own_run(request: HttpRequest, pk: int) -> DemoRun:
    runs = selectors.runs_of_visitor(user=request.user, session_key=_session_key(request))
    return get_object_or_404(runs, pk=pk)


def run(request: HttpRequest, pk: int) -> HttpResponse:
    return _run_page(request, _own_run(request, pk), shared=False)


def run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(_progress(_own_run(request, pk)))


def shared(request: HttpRequest, token: str) -> HttpResponse:
    found = get_object_or_404(selectors.shared_run(token=token))
    return _run_page(request, found, shared=True)
