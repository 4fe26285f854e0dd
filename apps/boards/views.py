"""Board pages: the list (create, rename, share, delete with plain forms) and one board, which
static/js/board.js draws, keeps live and, for its owner, edits (saved through /api/boards)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts import roles
from apps.accounts.decorators import role_required
from apps.boards import services, widgets
from apps.boards.models import Board
from apps.plant.models import Machine, Sensor


class NameForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)


def _own(request: HttpRequest, pk: int) -> Board:
    board = get_object_or_404(services.visible_to(request.user), pk=pk)
    if not board.can_edit(request.user):
        raise PermissionDenied("Only its owner changes a board.")
    return board


@role_required(roles.VIEWER)
def board_list(request: HttpRequest) -> HttpResponse:
    form = NameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.name_taken(request.user, form.cleaned_data["name"]):
            form.add_error("name", services.NAME_TAKEN)
        else:
            board = Board.objects.create(owner=request.user, name=form.cleaned_data["name"])
            return redirect(f"/boards/{board.pk}/?edit=1")
    boards = services.visible_to(request.user)
    own = [b for b in boards if b.owner_id == request.user.pk]
    shared = [b for b in boards if b.owner_id != request.user.pk]
    return render(request, "boards/list.html", {"form": form, "own": own, "shared": shared})


@login_required
@require_POST
def rename(request: HttpRequest, pk: int) -> HttpResponse:
    board = _own(request, pk)
    form = NameForm(request.POST)
    if form.is_valid() and not services.name_taken(request.user, form.cleaned_data["name"], exclude=board.pk):
        board.name = form.cleaned_data["name"]
        board.save(update_fields=["name", "updated_at"])
    return redirect("boards:list")


@login_required
@require_POST
def share(request: HttpRequest, pk: int) -> HttpResponse:
    board = _own(request, pk)
    board.shared = request.POST.get("shared") == "1"
    board.save(update_fields=["shared", "updated_at"])
    return redirect("boards:list")


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    _own(request, pk).delete()
    return redirect("boards:list")


@role_required(roles.VIEWER)
def board_page(request: HttpRequest, pk: int) -> HttpResponse:
    board = services.visible_to(request.user).filter(pk=pk).first()
    if board is None:
        raise Http404("No such board, or it is not shared.")
    sensors = {
        s.pk: {
            "label": f"{s.machine.code}/{s.code}", "name": s.name, "unit": s.unit, "decimals": s.decimals,
            "type": s.type, "min": s.range_min, "max": s.range_max, "interval": s.expected_interval,
            "machine": s.machine_id,
        }
        for s in Sensor.objects.select_related("machine").order_by("machine__code", "code")
    }  # fmt: skip
    machines = {m.pk: {"code": m.code, "name": m.name, "status": m.status} for m in Machine.objects.order_by("code")}
    context = {
        "board": board,
        "editable": board.can_edit(request.user),
        "board_data": {"id": board.pk, "name": board.name, "widgets": board.widgets},
        "sensor_meta": sensors,
        "machine_meta": machines,
        "widget_types": widgets.TYPES,
    }
    return render(request, "boards/board.html", context)
