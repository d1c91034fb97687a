"""Pages of the cooperative: meetings and votes, minutes, fees, the community fund, operating
costs, the year's close and the member home. Thin: load, check access, call a service."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from rentalcoop.access import require, role_required
from rentalcoop.accounts.models import Role, User
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.governance import bp, close, costs, dac7, fund, services
from rentalcoop.governance.forms import (
    ActionForm,
    AdjustRegisterForm,
    AuditorForm,
    CandidateForm,
    CloseVoteForm,
    CostForm,
    ExtraMeetingForm,
    MeetingForm,
    MotionForm,
    OfficersForm,
    ProjectForm,
    ProxyForm,
    RegisterForm,
    ReserveForm,
    SellerDetailsForm,
    StatuteRegisteredForm,
    VoteForm,
)
from rentalcoop.governance.models import (
    CHANNEL_LABELS,
    CHOICE_LABELS,
    Meeting,
    MeetingState,
    Motion,
    MotionKind,
    MotionState,
    OfficerRole,
    ProjectState,
    Proxy,
)
from rentalcoop.i18n import LazyDay, _
from rentalcoop.listings.pricing import coop_date
from rentalcoop.spreadsheet import kronor, safe_cell


def _meeting_or_404(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    return meeting


def _motion_or_404(motion_id: int) -> Motion:
    motion = db.session.get(Motion, motion_id)
    if motion is None:
        abort(404)
    return motion


def _can_see(meeting: Meeting) -> bool:
    """Members see convened meetings; the board also sees drafts."""
    if current_user.is_board:
        return True
    return current_user.is_member and meeting.state != MeetingState.DRAFT


def _back(meeting: Meeting, anchor: str = ""):
    return redirect(url_for("governance.meeting", meeting_id=meeting.id) + anchor, 303)


def _refused(err: DomainError) -> None:
    """A refused action: its writes rolled back, the reason as a flash message (403 stays 403)."""
    db.session.rollback()
    if err.status_code == 403:
        abort(403)
    flash(err.message, "error")


def _fail(err: DomainError, meeting: Meeting, motion_form: MotionForm | None = None):
    """A refused action, back to the meeting; a refused motion is shown again as typed, with
    the refusal's status."""
    _refused(err)
    if motion_form is not None:
        return _meeting_page(meeting, motion_form, err.status_code)
    return _back(meeting)


def _member_choices() -> list[SelectChoice]:
    return [
        SelectChoice(m.id, f"{m.name} ({m.membership.member_number})")
        for m in services.current_members()
    ]


def _project_choices(states=None) -> list[SelectChoice]:
    return [SelectChoice(0, "—")] + [SelectChoice(p.id, p.title) for p in fund.projects(states)]


# --- meetings --------------------------------------------------------------------------------


@bp.get("/meetings")
@role_required(Role.HOST, Role.BOARD)
def meetings():
    """Meetings, newest first: drafts for the board, the rest for every member."""
    return render_template(
        "governance/meetings.html",
        meetings=services.visible_meetings(current_user),
        today=coop_date(),
    )


@bp.route("/board/meetings/new", methods=["GET", "POST"])
@role_required(Role.BOARD)
def new_meeting():
    """The board prepares a meeting; an annual meeting gets its fixed agenda."""
    form = MeetingForm()
    answerable = {r.id: r for r in services.open_requests() if r.received_on is not None}
    form.answers_request.choices = [SelectChoice(0, "—")] + [
        SelectChoice(r.id, r.matter[:80]) for r in answerable.values()
    ]
    if form.validate_on_submit():
        try:
            meeting, warnings = services.create_meeting(
                kind=form.kind.data,
                format=form.format.data,
                title=form.title.data,
                starts_at=services.meeting_start(form.held_on.data, form.starts.data),
                venue=form.venue.data or "",
                join_info=form.join_info.data or "",
                changes_statutes=form.changes_statutes.data,
                motion_deadline=form.motion_deadline.data,
                request=answerable.get(form.answers_request.data),
                by=current_user,
            )
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
            return render_template("governance/new_meeting.html", form=form), 422
        db.session.commit()
        for warning in warnings:
            flash(warning, "warning")
        first, last = services.notice_window(meeting)
        flash(
            _(
                "Meeting created. Send the notice between %(first)s and %(last)s.",
                first=LazyDay(first),
                last=LazyDay(last),
            ),
            "success",
        )
        return redirect(url_for("governance.meeting", meeting_id=meeting.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("governance/new_meeting.html", form=form), status


@bp.get("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id: int):
    """The meeting: notice, agenda, votes, proxies; the board's and the chair's controls."""
    meeting = _meeting_or_404(meeting_id)
    require(_can_see(meeting))
    return _meeting_page(meeting)


def _meeting_page(meeting: Meeting, motion_form: MotionForm | None = None, status: int = 200):
    """The meeting page; with `motion_form`, a refused motion shown again as it was typed."""
    members = _member_choices()
    is_chair = services.is_chair(meeting, current_user)
    my_proxy = services.live_proxy(meeting, holder_id=current_user.id)
    given = services.live_proxy(meeting, principal_id=current_user.id)
    postal = services.setting_enabled(services.POSTAL_VOTING)
    vote_forms = {}
    voted = {}
    for motion in meeting.motions:
        if motion.state == MotionState.OPEN or (motion.state == MotionState.ON_AGENDA and postal):
            form = VoteForm(prefix=f"m{motion.id}")
            form.choice.choices = _choice_labels(motion)
            vote_forms[motion.id] = form
            voted[motion.id] = services.has_voted(motion, current_user)
            if my_proxy is not None:
                voted[(motion.id, my_proxy.principal_id)] = services.has_voted(
                    motion, my_proxy.principal
                )
    officers_form = OfficersForm()
    officers_form.chair.choices = members
    officers_form.secretary.choices = members
    officers_form.adjusters.choices = members
    motion_kept = motion_form is not None
    if motion_form is None:
        motion_form = MotionForm(formdata=None)
    motion_form.project_id.choices = _project_choices((ProjectState.PROPOSED,))
    motion_form.confirms_motion_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(m.id, f"{m.title} ({m.meeting.held_on.isoformat()})")
        for m in services.statute_decisions_awaiting()
        if m.meeting_id != meeting.id
    ]
    proxy_form = ProxyForm()
    proxy_form.principal.choices = members
    proxy_form.holder.choices = [c for c in members if c.value != current_user.id]
    candidate_form = CandidateForm()
    candidate_form.candidate.choices = members
    return render_template(
        "governance/meeting.html",
        meeting=meeting,
        is_chair=is_chair,
        is_board=current_user.is_board,
        is_member=current_user.is_member,
        vote_forms=vote_forms,
        voted=voted,
        my_proxy=my_proxy,
        given=given,
        proxies=list(db.session.scalars(select(Proxy).where(Proxy.meeting_id == meeting.id))),
        window=services.notice_window(meeting),
        officers_form=officers_form,
        motion_form=motion_form,
        motion_kept=motion_kept,
        proxy_form=proxy_form,
        candidate_form=candidate_form,
        close_form=CloseVoteForm(),
        registered_form=StatuteRegisteredForm(),
        action=ActionForm(),
        postal=postal,
        today=coop_date(),
    ), status


def _choice_labels(motion: Motion) -> list[SelectChoice]:
    """The service's valid choices, each with what the voter reads."""
    names = (
        {f"candidate:{c.id}": c.user.name for c in motion.candidates} if motion.is_election else {}
    )
    return [
        SelectChoice(str(choice), names.get(choice) or str(CHOICE_LABELS[choice]))
        for choice in services.valid_choices(motion)
    ]


@bp.post("/meetings/<int:meeting_id>/notice")
@role_required(Role.BOARD)
def send_notice(meeting_id: int):
    """Convene: the notice goes on the site and by mail to every member."""
    meeting = _meeting_or_404(meeting_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        count = services.send_notice(meeting, current_user)
    except DomainError as err:
        return _fail(err, meeting)
    db.session.commit()
    flash(_("The notice is sent to %(count)s members.", count=count), "success")
    return _back(meeting)


@bp.post("/meetings/<int:meeting_id>/accounts-to-auditor")
@role_required(Role.BOARD)
def accounts_to_auditor(meeting_id: int):
    """The board records that the year's accounts went to the auditor (before the notice)."""
    meeting = _meeting_or_404(meeting_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.deliver_accounts_to_auditor(meeting, current_user)
    except DomainError as err:
        return _fail(err, meeting)
    db.session.commit()
    flash(_("The accounts are recorded as delivered to the auditor."), "success")
    return _back(meeting)


@bp.post("/meetings/<int:meeting_id>/officers")
@role_required(Role.BOARD)
def set_officers(meeting_id: int):
    """The chair, the secretary and the adjusters of the meeting."""
    meeting = _meeting_or_404(meeting_id)
    form = OfficersForm()
    members = _member_choices()
    form.chair.choices = form.secretary.choices = form.adjusters.choices = members
    if not form.validate_on_submit():
        flash(_("Choose a chair, a secretary and at least one adjuster."), "error")
        return _back(meeting)
    try:
        services.set_officers(
            meeting,
            chair=db.session.get(User, form.chair.data),
            secretary=db.session.get(User, form.secretary.data),
            adjusters=[db.session.get(User, uid) for uid in form.adjusters.data],
        )
    except DomainError as err:
        return _fail(err, meeting)
    db.session.commit()
    flash(_("Officers saved."), "success")
    return _back(meeting)


@bp.post("/meetings/<int:meeting_id>/motions")
@role_required(Role.HOST, Role.BOARD)
def add_motion(meeting_id: int):
    """The board adds an item to the agenda; a member submits a motion for the board."""
    meeting = _meeting_or_404(meeting_id)
    require(_can_see(meeting))
    form = MotionForm()
    form.project_id.choices = _project_choices()
    if not form.validate_on_submit():
        flash(_("Please check the motion: %(errors)s", errors=_form_errors(form)), "error")
        return _meeting_page(meeting, form, 422)
    try:
        services.add_motion(
            meeting,
            kind=form.kind.data,
            title=form.title.data,
            body=form.body.data or "",
            raises_member_duties=form.raises_member_duties.data,
            ballot="secret" if form.is_secret.data else "open",
            proposer=current_user,
            by_board=current_user.is_board,
            fee_bps=form.fee_bps.data,
            community_bps=form.community_bps.data,
            effective_from=form.effective_from.data,
            project_id=form.project_id.data or None,
            setting_key=form.setting_key.data or None,
            setting_value=form.setting_value.data or None,
            confirms_motion_id=form.confirms_motion_id.data or None,
        )
    except DomainError as err:
        return _fail(err, meeting, form)
    db.session.commit()
    flash(_("The motion is added."), "success")
    return _back(meeting, "#agenda")


def _form_errors(form) -> str:
    return "; ".join(
        f"{form[name].label.text}: {' '.join(errs)}" for name, errs in form.errors.items()
    )


@bp.post("/motions/<int:motion_id>/place")
@role_required(Role.BOARD)
def place_motion(motion_id: int):
    """The board puts a member's motion on the agenda."""
    motion = _motion_or_404(motion_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.place_on_agenda(motion, accept=request.form.get("accept", "1") == "1")
    except DomainError as err:
        return _fail(err, motion.meeting)
    db.session.commit()
    return _back(motion.meeting, "#agenda")


@bp.post("/motions/<int:motion_id>/candidates")
@role_required(Role.BOARD)
def add_candidate(motion_id: int):
    """A candidate for an election on the agenda."""
    motion = _motion_or_404(motion_id)
    form = CandidateForm()
    form.candidate.choices = _member_choices()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.add_candidate(motion, db.session.get(User, form.candidate.data))
    except DomainError as err:
        return _fail(err, motion.meeting)
    db.session.commit()
    return _back(motion.meeting, f"#motion-{motion.id}")


@bp.post("/motions/<int:motion_id>/open")
@login_required
def open_vote(motion_id: int):
    """The chair opens the vote."""
    motion = _motion_or_404(motion_id)
    require(services.is_chair(motion.meeting, current_user))
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.open_vote(motion, current_user)
    except DomainError as err:
        return _fail(err, motion.meeting)
    db.session.commit()
    return _back(motion.meeting, f"#motion-{motion.id}")


@bp.post("/motions/<int:motion_id>/close")
@login_required
def close_vote(motion_id: int):
    """The chair closes the vote; the result is counted and carried out."""
    motion = _motion_or_404(motion_id)
    require(services.is_chair(motion.meeting, current_user))
    form = CloseVoteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.close_vote(motion, current_user, casting_vote=form.casting_vote.data or None)
    except DomainError as err:
        return _fail(err, motion.meeting)
    db.session.commit()
    flash(_("The vote is closed."), "success")
    return _back(motion.meeting, f"#motion-{motion.id}")


@bp.post("/motions/<int:motion_id>/vote")
@role_required(Role.HOST)
def vote(motion_id: int):
    """A member's ballot: their own, or for the member whose proxy they hold."""
    motion = _motion_or_404(motion_id)
    require(_can_see(motion.meeting))
    form = VoteForm(prefix=f"m{motion.id}")
    form.choice.choices = _choice_labels(motion)
    if not form.validate_on_submit():
        flash(_("Choose how you vote."), "error")
        return _back(motion.meeting, f"#motion-{motion.id}")
    principal = None
    if form.on_behalf_of.data:
        principal = db.session.get(User, form.on_behalf_of.data)
        if principal is None:
            abort(404)
    try:
        services.cast_vote(
            motion, current_user, form.choice.data, on_behalf_of=principal, postal=form.postal.data
        )
    except DomainError as err:
        return _fail(err, motion.meeting)
    db.session.commit()
    if principal is not None:
        flash(_("Your vote for %(name)s is recorded.", name=principal.name), "success")
    else:
        flash(_("Your vote is recorded."), "success")
    return _back(motion.meeting, f"#motion-{motion.id}")


@bp.post("/meetings/<int:meeting_id>/proxies")
@role_required(Role.HOST, Role.BOARD)
def grant_proxy(meeting_id: int):
    """A member gives a proxy (dated today); the board registers a paper one with its date."""
    meeting = _meeting_or_404(meeting_id)
    require(_can_see(meeting))
    form = ProxyForm()
    members = _member_choices()
    form.principal.choices = form.holder.choices = members
    if not current_user.is_board:
        form.principal.data = current_user.id
    if not form.validate_on_submit():
        flash(_("Choose who holds the proxy."), "error")
        return _back(meeting, "#proxies")
    try:
        services.grant_proxy(
            meeting,
            db.session.get(User, form.principal.data),
            db.session.get(User, form.holder.data),
            form.signed_on.data,
            registered_by=current_user,
            note=form.note.data or "",
        )
    except DomainError as err:
        return _fail(err, meeting)
    db.session.commit()
    flash(_("The proxy is registered."), "success")
    return _back(meeting, "#proxies")


@bp.post("/proxies/<int:proxy_id>/revoke")
@login_required
def revoke_proxy(proxy_id: int):
    """The principal (or the board) revokes a proxy."""
    proxy = db.session.get(Proxy, proxy_id)
    if proxy is None:
        abort(404)
    require(proxy.principal_id == current_user.id or current_user.is_board)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.revoke_proxy(proxy)
    db.session.commit()
    flash(_("The proxy is revoked."), "success")
    return redirect(url_for("governance.meeting", meeting_id=proxy.meeting_id) + "#proxies", 303)


@bp.post("/meetings/<int:meeting_id>/close")
@role_required(Role.BOARD)
def close_meeting(meeting_id: int):
    """The board closes the meeting; the minutes go to the officers to sign."""
    meeting = _meeting_or_404(meeting_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.close_meeting(meeting)
    except DomainError as err:
        return _fail(err, meeting)
    db.session.commit()
    return redirect(url_for("governance.minutes", meeting_id=meeting.id), 303)


# --- the voting register (röstlängd) --------------------------------------------------------


def _register_forms(meeting: Meeting):
    members = _member_choices()
    take = RegisterForm()
    take.present.choices = members
    adjust = AdjustRegisterForm()
    adjust.member.choices = members
    adjust.holder.choices = [SelectChoice(0, "—"), *members]
    return take, adjust


def _may_keep_register(meeting: Meeting) -> bool:
    return current_user.is_board or services.is_chair(meeting, current_user)


@bp.route("/meetings/<int:meeting_id>/register", methods=["GET", "POST"])
@login_required
def voting_register(meeting_id: int):
    """The chair (or the board) takes the röstlängd at the opening and sees it as it stands."""
    meeting = _meeting_or_404(meeting_id)
    require(_may_keep_register(meeting))
    take, adjust = _register_forms(meeting)
    status = 200
    if request.method == "POST":
        if not take.validate_on_submit():
            abort(400)
        try:
            services.take_register(
                meeting, [db.session.get(User, uid) for uid in take.present.data], current_user
            )
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
            status = err.status_code
        else:
            db.session.commit()
            flash(_("The voting register is taken."), "success")
            return redirect(url_for("governance.voting_register", meeting_id=meeting.id), 303)
    return render_template(
        "governance/register.html",
        meeting=meeting,
        register=services.voting_register(meeting),
        channel_labels=CHANNEL_LABELS,
        take=take,
        adjust=adjust,
    ), status


@bp.post("/meetings/<int:meeting_id>/register/adjust")
@login_required
def adjust_register(meeting_id: int):
    """The meeting adjusts the röstlängd: someone arrives, leaves or is represented."""
    meeting = _meeting_or_404(meeting_id)
    require(_may_keep_register(meeting))
    _take, form = _register_forms(meeting)
    if not form.validate_on_submit():
        abort(400)
    member = db.session.get(User, form.member.data)
    holder = db.session.get(User, form.holder.data) if form.holder.data else None
    channel = None if form.channel.data == "gone" else form.channel.data
    try:
        services.adjust_register(meeting, member, channel, current_user, holder=holder)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash(_("The voting register is adjusted."), "success")
    return redirect(url_for("governance.voting_register", meeting_id=meeting.id), 303)


# --- extra meetings on request ---------------------------------------------------------------


def _may_request() -> bool:
    return current_user.is_member or services.is_auditor(current_user)


@bp.route("/member/extra-meeting", methods=["GET", "POST"])
@login_required
def extra_meeting_requests():
    """Members (and the auditor) ask for an extra meeting and sign each other's requests; the
    board sees each request's signatures against one tenth and the day it must convene by."""
    require(_may_request() or current_user.is_board)
    form = ExtraMeetingForm()
    status = 200
    if request.method == "POST":
        require(_may_request())
        if form.validate_on_submit():
            try:
                services.request_extra_meeting(current_user, form.matter.data)
            except DomainError as err:
                _refused(err)
                status = err.status_code
            else:
                db.session.commit()
                flash(_("Your request is recorded."), "success")
                return redirect(url_for("governance.extra_meeting_requests"), 303)
        else:
            status = 422
    requests = services.open_requests()
    return render_template(
        "governance/extra_meeting.html",
        form=form,
        requests=requests,
        needed=services.signatures_needed(),
        signed={
            r.id for r in requests if any(s.member_id == current_user.id for s in r.signatures)
        },
        may_sign=current_user.is_member,
        is_board=current_user.is_board,
        convene_by=services.convene_by,
        today=coop_date(),
        action=ActionForm(),
    ), status


@bp.post("/member/extra-meeting/<int:request_id>/sign")
@role_required(Role.HOST)
def sign_extra_meeting_request(request_id: int):
    """A member adds their signature to a request for an extra meeting."""
    from rentalcoop.governance.models import MeetingRequest

    found = db.session.get(MeetingRequest, request_id)
    if found is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.sign_request(found, current_user)
    except DomainError as err:
        _refused(err)
    else:
        db.session.commit()
        flash(_("Your signature is recorded."), "success")
    return redirect(url_for("governance.extra_meeting_requests"), 303)


# --- the auditor and statutes registration -----------------------------------------------------


@bp.route("/board/auditor", methods=["GET", "POST"])
@role_required(Role.BOARD)
def auditor():
    """The auditor in office; the board records one elected outside the app (the founding
    meeting). Later auditors come from the annual meeting's election."""
    form = AuditorForm()
    form.auditor.choices = _member_choices()
    status = 200
    if form.validate_on_submit():
        try:
            services.register_auditor(
                db.session.get(User, form.auditor.data), form.elected_on.data, current_user
            )
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
            status = err.status_code
        else:
            db.session.commit()
            flash(_("The auditor is recorded."), "success")
            return redirect(url_for("governance.auditor"), 303)
    elif form.is_submitted():
        status = 422
    return render_template(
        "governance/auditor.html",
        form=form,
        auditors=services.current_auditors(),
        awaiting=services.statute_decisions_awaiting(),
    ), status


@bp.post("/motions/<int:motion_id>/registered")
@role_required(Role.BOARD)
def statute_registered(motion_id: int):
    """The board records the day Bolagsverket registered a statutes change (it is then in
    force)."""
    motion = _motion_or_404(motion_id)
    form = StatuteRegisteredForm()
    if not form.validate_on_submit():
        flash(_("Give the date of the registration."), "error")
        return _back(motion.meeting, f"#motion-{motion.id}")
    try:
        services.register_statute_change(motion, form.registered_on.data, current_user)
    except DomainError as err:
        return _fail(err, motion.meeting)
    db.session.commit()
    flash(_("The statutes change is registered and in force."), "success")
    return _back(motion.meeting, f"#motion-{motion.id}")


# --- minutes ---------------------------------------------------------------------------------


def _is_officer(meeting: Meeting) -> bool:
    return any(o.user_id == current_user.id for o in meeting.officers)


@bp.get("/meetings/<int:meeting_id>/minutes")
@login_required
def minutes(meeting_id: int):
    """The minutes: voting register, each motion with counts and outcome, signatures.
    Published ones for members; before that for the officers and the board."""
    meeting = _meeting_or_404(meeting_id)
    if meeting.state == MeetingState.PUBLISHED:
        require(current_user.is_member or current_user.is_board)
    else:
        require(
            meeting.state == MeetingState.CLOSED and (current_user.is_board or _is_officer(meeting))
        )
    return render_template(
        "governance/minutes.html",
        meeting=meeting,
        register=services.voting_register(meeting),
        channel_labels=CHANNEL_LABELS,
        can_sign=meeting.state == MeetingState.CLOSED
        and any(o.user_id == current_user.id and o.signed_at is None for o in meeting.officers),
        action=ActionForm(),
        OfficerRole=OfficerRole,
    )


@bp.post("/meetings/<int:meeting_id>/minutes/sign")
@login_required
def sign_minutes(meeting_id: int):
    """An officer signs (or, as adjuster, checks) the minutes."""
    meeting = _meeting_or_404(meeting_id)
    require(_is_officer(meeting))
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        published = services.sign_minutes(meeting, current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("governance.minutes", meeting_id=meeting.id), 303)
    db.session.commit()
    flash(
        _("The minutes are signed and published to the members.")
        if published
        else _("Your signature is recorded."),
        "success",
    )
    return redirect(url_for("governance.minutes", meeting_id=meeting.id), 303)


# --- fees ------------------------------------------------------------------------------------


@bp.get("/fees")
@role_required(Role.HOST, Role.BOARD)
def fees():
    """The fee schedule's history, each version with the decision behind it."""
    return render_template(
        "governance/fees.html", history=services.fee_history(), today=coop_date()
    )


# --- community fund --------------------------------------------------------------------------


@bp.get("/community-fund")
def community_fund():
    """The public fund ledger: money per project and month, amounts only (DESIGN §12)."""
    return render_template(
        "governance/community_fund.html",
        ledger=fund.fund_ledger(),
        projects=fund.projects((ProjectState.APPROVED,)),
        proposed=fund.projects((ProjectState.PROPOSED,)),
        form=ProjectForm() if current_user.is_authenticated and current_user.is_member else None,
        board_approves=services.setting_enabled(services.BOARD_APPROVES_PROJECTS),
        action=ActionForm(),
    )


@bp.post("/community-fund/projects")
@role_required(Role.HOST)
def propose_project():
    """A member proposes a local project."""
    form = ProjectForm()
    if not form.validate_on_submit():
        flash(_("A project needs a name."), "error")
        return redirect(url_for("governance.community_fund"), 303)
    fund.propose_project(current_user, form.title.data, form.description.data or "")
    db.session.commit()
    flash(_("Thank you: the project is proposed. The meeting decides on it."), "success")
    return redirect(url_for("governance.community_fund"), 303)


@bp.post("/community-fund/projects/<int:project_id>/approve")
@role_required(Role.BOARD)
def approve_project(project_id: int):
    """The board approves a project, when the statutes delegate it."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        fund.approve_project(project_id, current_user)
    except DomainError as err:
        _refused(err)
    else:
        db.session.commit()
    return redirect(url_for("governance.community_fund"), 303)


# --- operating costs -------------------------------------------------------------------------


@bp.route("/board/costs", methods=["GET", "POST"])
@role_required(Role.BOARD)
def operating_costs():
    """The board enters operating costs; each is posted to the ledger."""
    form = CostForm()
    status = 200
    if form.validate_on_submit():
        try:
            costs.enter_cost(
                form.spent_on.data,
                form.category.data,
                form.amount_ore.data,
                form.note.data or "",
                current_user,
            )
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
            status = 409
        else:
            db.session.commit()
            flash(_("The cost is entered."), "success")
            return redirect(url_for("governance.operating_costs"), 303)
    elif form.is_submitted():
        status = 422
    return render_template("governance/costs.html", form=form, costs=costs.costs()), status


# --- the year's close ------------------------------------------------------------------------


@bp.route("/board/close/<year:year>", methods=["GET", "POST"])
@role_required(Role.BOARD)
def year_close(year: int):
    """The close of a year for the board: F, C, O, S, R, D and every host's share."""
    form = ReserveForm()
    row = close.year_close(year)
    if form.validate_on_submit():
        try:
            row = close.save_draft(year, form.reserve_ore.data)
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
        else:
            db.session.commit()
            flash(_("The draft close is saved."), "success")
            return redirect(url_for("governance.year_close", year=year), 303)
    if row is None:
        figures = close.compute(year, 0)
    else:
        figures = None
        form.reserve_ore.data = row.reserve_ore
    names = close.share_names(year) if row is not None else {}
    return render_template(
        "governance/close.html",
        year=year,
        row=row,
        figures=figures,
        names=names,
        per_night=close.per_night_ore(row) if row is not None else None,
        form=form,
        approved=close.approved_disposition(year),
    )


def _csv(rows, name: str) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])  # member names are typed by people
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/board/close/<year:year>.csv")
@role_required(Role.BOARD)
def year_close_csv(year: int):
    """The whole distribution table for a spreadsheet."""
    row = close.year_close(year)
    if row is None:
        abort(404)
    names = close.share_names(year)
    state = _("Posted") if row.state == "posted" else _("Draft")
    lines = [(_("Member id"), _("Name"), _("Booked nights"), _("Amount (kr)"), _("Status"))]
    lines += [
        (s.member_id, names.get(s.member_id, ""), s.nights, kronor(s.amount_ore), state)
        for s in row.shares
    ]
    return _csv(lines, f"patronage-{year}.csv")


@bp.get("/member/statements/<year:year>.csv")
@role_required(Role.HOST)
def statement_csv(year: int):
    """My patronage statement for a closed year."""
    share = close.statement(year, current_user.id)
    row = close.year_close(year)
    if share is None or row is None or row.state != "posted":
        abort(404)
    per_night = close.per_night_ore(row)
    return _csv(
        [
            (_("Year"), _("Booked nights"), _("Per night (kr)"), _("Amount (kr)")),
            (
                year,
                share.nights,
                kronor(per_night) if per_night is not None else "",
                kronor(share.amount_ore),
            ),
        ],
        f"statement-{year}.csv",
    )


# --- the annual seller report (DAC7) ---------------------------------------------------------


@bp.route("/member/seller-details", methods=["GET", "POST"])
@role_required(Role.HOST)
def seller_details():
    """A host gives what the annual seller report to Skatteverket needs about them."""
    from rentalcoop.governance.models import SellerDetails

    row = db.session.get(SellerDetails, current_user.id)
    form = SellerDetailsForm(obj=row if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            dac7.save_seller_details(
                current_user,
                kind=form.kind.data,
                legal_name=form.legal_name.data or "",
                address=form.address.data or "",
                national_id=form.national_id.data or "",
                date_of_birth=form.date_of_birth.data,
                tin=form.tin.data or "",
                tin_country=form.tin_country.data or "SE",
                vat_number=form.vat_number.data or "",
                iban=form.iban.data or "",
            )
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
            status = err.status_code
        else:
            db.session.commit()
            flash(_("Your details are saved."), "success")
            return redirect(url_for("governance.seller_details"), 303)
    elif form.is_submitted():
        status = 422
    return render_template("governance/seller_details.html", form=form), status


@bp.get("/board/seller-report/<year:year>")
@role_required(Role.BOARD)
def seller_report(year: int):
    """The year's seller report for the board: each host, each listing, per quarter."""
    return render_template(
        "governance/seller_report.html",
        year=year,
        sellers=dac7.seller_report(year),
        missing_labels=dac7.MISSING_LABELS,
    )


def _quarters(label: str) -> list[str]:
    return [_("%(what)s Q%(n)s", what=label, n=n) for n in range(1, 5)]


@bp.get("/board/seller-report/<year:year>.csv")
@role_required(Role.BOARD)
def seller_report_csv(year: int):
    """The seller report as a spreadsheet, one row per listing, headers in the board's
    language; amounts in SEK."""
    header = [
        _("Host id"),
        _("Name"),
        _("Seller kind"),
        _("Primary address"),
        _("Personnummer or organisation number"),
        _("Date of birth"),
        _("TIN"),
        _("TIN country"),
        _("VAT number"),
        _("IBAN"),
        _("Listing id"),
        _("Listing"),
        _("Listing address"),
        _("Registration number"),
        _("Property type"),
        *_quarters(_("Nights")),
        *_quarters(_("Consideration (SEK)")),
        *_quarters(_("Fees withheld (SEK)")),
        *_quarters(_("Activities")),
        _("Missing"),
    ]
    lines = [header]
    for seller in dac7.seller_report(year):
        d = seller.details
        born = dac7.birth_date(d)
        for line in seller.listings:
            listing = line.listing
            missing = [str(dac7.MISSING_LABELS[m]) for m in (*seller.missing, *line.missing)]
            lines.append(
                [
                    seller.host.id,
                    (d.legal_name if d and d.legal_name else seller.host.name),
                    str(dac7.SELLER_KIND_LABELS[d.kind]) if d else "",
                    d.address if d else "",
                    d.national_id if d else "",
                    born.isoformat() if born else "",
                    d.tin if d else "",
                    d.tin_country if d else "",
                    d.vat_number if d else "",
                    d.iban if d else "",
                    listing.id,
                    listing.title,
                    listing.street_address,
                    listing.registration_number or "",
                    listing.property_type_label,
                    *line.nights,
                    *(kronor(v) for v in line.consideration_ore),
                    *(kronor(v) for v in line.fees_ore),
                    *line.activities,
                    "; ".join(missing),
                ]
            )
    return _csv(lines, f"seller-report-{year}.csv")


# --- the member home -------------------------------------------------------------------------


@bp.get("/member")
@role_required(Role.HOST)
def member_home():
    """My nights and refund estimate this year, open votes, meetings, statements, fees."""
    today = coop_date()
    return render_template(
        "governance/member_home.html",
        estimate=close.estimate_for(current_user, today),
        open_motions=services.open_motions_for(current_user),
        in_progress=services.meetings_today(today),
        upcoming=services.upcoming_meetings(today, after_today=True),
        now=utcnow(),
        statements=[(c, s, close.per_night_ore(c)) for c, s in close.closes_for(current_user.id)],
        history=services.fee_history(),
        today=today,
        MotionKind=MotionKind,
    )
