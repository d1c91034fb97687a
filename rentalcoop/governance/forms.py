"""Forms of the cooperative's pages. Choices that depend on the database are set in the view."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from rentalcoop.forms import FlaskForm
from rentalcoop.governance.models import (
    COST_CATEGORY_LABELS,
    MEETING_FORMAT_LABELS,
    MEETING_KIND_LABELS,
    MOTION_KIND_LABELS,
    SELLER_KIND_LABELS,
    SETTING_LABELS,
    MotionKind,
)
from rentalcoop.i18n import _l
from rentalcoop.input_guard import INT4_MAX  # what the öre columns hold
from rentalcoop.listings.forms import KronorField


def _choices(labels) -> list[SelectChoice]:
    return [SelectChoice(str(key), label) for key, label in labels.items()]


class PercentField(StringField):
    """A rate typed in per cent (`15` or `12,5`), as hosts type kronor; `data` is the basis
    points the fee schedule stores (1 % = 100 bps)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        kwargs.setdefault("validators", [Optional()])
        super().__init__(*args, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        whole, rest = divmod(self.data, 100)
        return f"{whole}" if rest == 0 else f"{whole},{rest:02d}".rstrip("0")

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0].strip().replace("%", "").replace(",", ".").strip()
        if not text:
            self.data = None
            return
        try:
            rate = Decimal(text)
        except InvalidOperation:
            rate = None
        if rate is None or not rate.is_finite() or rate != rate.quantize(Decimal("0.01")):
            self.data = None
            raise ValueError(_l("Enter a percentage, like 15 or 12,5."))
        if not 0 <= rate <= 100:
            self.data = None
            raise ValueError(_l("Enter a percentage between 0 and 100."))
        self.data = int(rate * 100)


class MeetingForm(FlaskForm):
    kind = SelectField(_l("Kind of meeting"), choices=_choices(MEETING_KIND_LABELS))
    format = SelectField(_l("Held"), choices=_choices(MEETING_FORMAT_LABELS))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    held_on = DateField(_l("Date"), validators=[InputRequired()])
    starts = TimeField(_l("Starts at"), validators=[InputRequired()])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=500)])
    join_info = TextAreaField(
        _l("How to join and vote online"), validators=[Optional(), Length(max=2000)]
    )
    changes_statutes = BooleanField(_l("The meeting is to change the statutes"))
    motion_deadline = DateField(_l("Deadline for members' motions"), validators=[Optional()])
    answers_request = SelectField(
        _l("Answers the request for an extra meeting"), coerce=int, choices=[], default=0
    )
    submit = SubmitField(_l("Create the meeting"))


class MotionForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[c for c in _choices(MOTION_KIND_LABELS) if c.value != MotionKind.ELECTION],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("Proposal and reasons"), validators=[Optional(), Length(max=10_000)])
    raises_member_duties = BooleanField(
        _l("The change raises what members must pay or cuts their share of the surplus")
    )
    is_secret = BooleanField(_l("Secret ballot"))
    fee_bps = PercentField(_l("New service fee, percent of the price"))
    community_bps = PercentField(_l("New community share, percent of the net fee"))
    effective_from = DateField(_l("Applies to bookings made from"), validators=[Optional()])
    project_id = SelectField(_l("Project"), coerce=int, choices=[], validate_choice=False)
    setting_key = SelectField(
        _l("Rule of the statutes"),
        choices=[SelectChoice("", "—")] + _choices(SETTING_LABELS),
        validators=[Optional()],
    )
    setting_value = StringField(_l("New value"), validators=[Optional(), Length(max=200)])
    confirms_motion_id = SelectField(
        _l("Confirms the statutes change decided by the previous meeting"),
        coerce=int,
        choices=[],
        default=0,
        validate_choice=False,
    )
    submit = SubmitField(_l("Add the motion"))


class OfficersForm(FlaskForm):
    chair = SelectField(_l("Chair"), coerce=int, choices=[])
    secretary = SelectField(_l("Secretary"), coerce=int, choices=[])
    adjusters = SelectMultipleField(_l("Adjusters"), coerce=int, choices=[])
    submit = SubmitField(_l("Save the officers"))


class VoteForm(FlaskForm):
    choice = RadioField(_l("Your vote"), choices=[], validators=[InputRequired()])
    on_behalf_of = IntegerField(validators=[Optional()])
    postal = BooleanField(_l("Postal vote"))
    submit = SubmitField(_l("Vote"))


class CloseVoteForm(FlaskForm):
    casting_vote = SelectField(
        _l("On a tie, the chair's vote"),
        choices=[
            SelectChoice("", "—"),
            SelectChoice("yes", _l("Yes")),
            SelectChoice("no", _l("No")),
        ],
        validators=[Optional()],
    )
    submit = SubmitField(_l("Close the vote"))


class ProxyForm(FlaskForm):
    principal = SelectField(_l("Member giving the proxy"), coerce=int, choices=[])
    holder = SelectField(_l("Member holding the proxy"), coerce=int, choices=[])
    signed_on = DateField(_l("Dated"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Register the proxy"))


class CandidateForm(FlaskForm):
    candidate = SelectField(_l("Candidate"), coerce=int, choices=[])
    submit = SubmitField(_l("Add the candidate"))


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""

    submit = SubmitField(_l("Confirm"))


class ProjectForm(FlaskForm):
    title = StringField(_l("Project name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("What it is for"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("Propose the project"))


class CostForm(FlaskForm):
    spent_on = DateField(_l("Date"), validators=[InputRequired()])
    category = SelectField(_l("Category"), choices=_choices(COST_CATEGORY_LABELS))
    amount_ore = KronorField(
        _l("Amount (kr)"), validators=[InputRequired()], min_ore=1, max_ore=INT4_MAX
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Enter the cost"))


class ReserveForm(FlaskForm):
    reserve_ore = KronorField(
        _l("Reserve R (kr)"), validators=[InputRequired()], min_ore=0, max_ore=INT4_MAX
    )
    submit = SubmitField(_l("Save the draft"))


class RegisterForm(FlaskForm):
    """The röstlängd at the opening: the members present (proxies and postal votes join)."""

    present = SelectMultipleField(_l("Members present"), coerce=int, choices=[])
    submit = SubmitField(_l("Take the voting register"))


class AdjustRegisterForm(FlaskForm):
    member = SelectField(_l("Member"), coerce=int, choices=[])
    channel = SelectField(
        _l("Taking part"),
        choices=[
            SelectChoice("in_person", _l("In person")),
            SelectChoice("proxy", _l("By proxy")),
            SelectChoice("postal", _l("Postal vote")),
            SelectChoice("gone", _l("Not taking part (left)")),
        ],
    )
    holder = SelectField(_l("Proxy holder"), coerce=int, choices=[], validate_choice=False)
    submit = SubmitField(_l("Adjust the register"))


class ExtraMeetingForm(FlaskForm):
    matter = TextAreaField(
        _l("The matter the meeting is to decide, and why"),
        validators=[DataRequired(), Length(max=5000)],
    )
    submit = SubmitField(_l("Request an extra meeting"))


class AuditorForm(FlaskForm):
    auditor = SelectField(_l("Auditor"), coerce=int, choices=[])
    elected_on = DateField(_l("Elected on"), validators=[InputRequired()])
    submit = SubmitField(_l("Record the auditor"))


class StatuteRegisteredForm(FlaskForm):
    registered_on = DateField(_l("Registered by Bolagsverket on"), validators=[InputRequired()])
    submit = SubmitField(_l("Record the registration"))


class SellerDetailsForm(FlaskForm):
    """What the annual seller report to Skatteverket needs about a host (DAC7); all optional."""

    kind = SelectField(_l("I rent out as"), choices=_choices(SELLER_KIND_LABELS))
    legal_name = StringField(
        _l("Legal name (if not the name on your account)"),
        validators=[Optional(), Length(max=200)],
    )
    address = TextAreaField(_l("Primary address"), validators=[Optional(), Length(max=500)])
    national_id = StringField(
        _l("Personnummer, samordningsnummer or organisation number"),
        validators=[Optional(), Length(max=20)],
    )
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    tin = StringField(
        _l("Foreign tax number (TIN), if not Swedish"), validators=[Optional(), Length(max=40)]
    )
    tin_country = StringField(
        _l("Country that issued it (two letters)"), validators=[Optional(), Length(max=2)]
    )
    vat_number = StringField(_l("VAT number"), validators=[Optional(), Length(max=20)])
    iban = StringField(_l("Bank account (IBAN)"), validators=[Optional(), Length(max=42)])
    submit = SubmitField(_l("Save"))
