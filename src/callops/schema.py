"""Canonical tables: the contract every callops package imports.

Every table here is stored in the warehouse with two extra columns that the
loader fills in: ``tenant_id`` (whose row it is) and ``load_id`` (which load
wrote its current version). Timestamps are instants stored in UTC
(``TIMESTAMPTZ`` with the warehouse session zone fixed to UTC); calendar grains
are computed later in the tenant's own zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    """Logical column types and the DuckDB type that stores each."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    DATE = "date"

    @property
    def sql(self) -> str:
        """The DuckDB type name used for storage."""
        return _SQL_TYPES[self]


_SQL_TYPES = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INT: "BIGINT",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.BOOL: "BOOLEAN",
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",
    ColumnType.DATE: "DATE",
}


class Channel(StrEnum):
    """Media a contact arrives on."""

    VOICE = "voice"
    CHAT = "chat"
    WEB = "web"
    APP = "app"
    SMS = "sms"
    EMAIL = "email"
    SOCIAL = "social"
    VIDEO = "video"


class Direction(StrEnum):
    """Who started the contact."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Outcome(StrEnum):
    """How a contact ended."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    SELF_SERVED = "self_served"
    TRANSFERRED = "transferred"
    CALLBACK = "callback"


class AgentState(StrEnum):
    """What an agent is doing."""

    READY = "ready"
    BUSY = "busy"
    ACW = "acw"
    AUX = "aux"
    OFFLINE = "offline"


class Activity(StrEnum):
    """Scheduled activity of an agent."""

    WORK = "work"
    BREAK = "break"
    LUNCH = "lunch"
    TRAINING = "training"
    MEETING = "meeting"
    OFF = "off"


class CustomerStatus(StrEnum):
    """Account status of a customer."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARREARS = "arrears"
    CHURNED = "churned"


class Speaker(StrEnum):
    """Who spoke an utterance in a transcript."""

    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    type: ColumnType
    description: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    non_negative: bool = False
    unit: str | None = None


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns, natural key and ordering rules."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Pairs (earlier, later) of timestamp columns that must be ordered when both are set.
    ordered: tuple[tuple[str, str], ...] = field(default=())
    # (order column, group column, time column): a mapping may leave the order column out, and the loader then
    # numbers the rows of each group from 0 by time, then by order in the file (event logs without step numbers).
    sequence: tuple[str, str, str] | None = None

    def column(self, name: str) -> Column:
        """Return the column called ``name`` or raise ``KeyError``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the data columns, in storage order."""
        return tuple(c.name for c in self.columns)


def _enum(values: type[StrEnum]) -> tuple[str, ...]:
    return tuple(v.value for v in values)


S, I, F, B, T, D = (  # noqa: E741 - short aliases keep the table definitions readable
    ColumnType.STRING,
    ColumnType.INT,
    ColumnType.FLOAT,
    ColumnType.BOOL,
    ColumnType.TIMESTAMP,
    ColumnType.DATE,
)

CONTACTS = Table(
    name="contacts",
    description="One row per contact on any channel, from arrival to the end of handling.",
    key=("contact_id",),
    ordered=(("offered_at", "answered_at"), ("answered_at", "ended_at"), ("offered_at", "ended_at")),
    columns=(
        Column("contact_id", S, "Identifier of the contact in its source system.", required=True),
        Column("center", S, "Contact center (site) that handled or queued the contact."),
        Column("queue", S, "Queue, skill or split the contact waited in."),
        Column("channel", S, "Medium of the contact.", required=True, enum=_enum(Channel)),
        Column("direction", S, "Inbound or outbound.", required=True, enum=_enum(Direction)),
        Column("customer_id", S, "Customer, when identified."),
        Column("business_type", S, "Business the contact was about (billing, data plan, ...)."),
        Column("offered_at", T, "When the contact arrived (entered the IVR or the channel).", required=True),
        Column("answered_at", T, "When an agent answered; empty if never answered."),
        Column("ended_at", T, "When handling, abandonment or self-service ended."),
        Column("ivr_s", F, "Seconds in IVR/self-service before queueing.", non_negative=True, unit="s"),
        Column("wait_s", F, "Seconds waiting in queue.", non_negative=True, unit="s"),
        Column("talk_s", F, "Seconds of conversation.", non_negative=True, unit="s"),
        Column("hold_s", F, "Seconds on hold.", non_negative=True, unit="s"),
        Column("acw_s", F, "Seconds of after-contact work.", non_negative=True, unit="s"),
        Column("outcome", S, "How the contact ended.", required=True, enum=_enum(Outcome)),
        Column("agent_id", S, "Agent who handled it; empty if none."),
        Column("transfers", I, "Number of transfers.", non_negative=True),
        Column("resolved", B, "Whether the need was resolved on this contact."),
        Column("csat", F, "Post-contact satisfaction score (1-5).", unit="score"),
        Column("nps", F, "Likelihood to recommend (0-10).", unit="score"),
        Column("offer_id", S, "Offer presented during the contact."),
        Column("offer_result", S, "accepted, declined or empty.", enum=("accepted", "declined")),
        Column("revenue", F, "Revenue attributed to the contact.", non_negative=True, unit="currency"),
    ),
)

AGENT_STATES = Table(
    name="agent_states",
    description="Agent state intervals (ready, busy, after-call work, aux, offline).",
    key=("agent_id", "started_at"),
    ordered=(("started_at", "ended_at"),),
    columns=(
        Column("agent_id", S, "Agent.", required=True),
        Column("state", S, "State the agent was in.", required=True, enum=_enum(AgentState)),
        Column("reason", S, "Aux/pause reason code."),
        Column("queue", S, "Queue the state applies to, when the source is per-queue."),
        Column("started_at", T, "Start of the state.", required=True),
        Column("ended_at", T, "End of the state; empty while still in it."),
    ),
)

AGENTS = Table(
    name="agents",
    description="Roster: who the agents are, where they sit and what they can do.",
    key=("agent_id",),
    columns=(
        Column("agent_id", S, "Agent.", required=True),
        Column("name", S, "Display name."),
        Column("center", S, "Home center."),
        Column("team", S, "Team."),
        Column("skills", S, "Skills with levels, e.g. 'billing:3;vip:1'."),
        Column("hire_date", D, "First working day."),
        Column("contract", S, "Contract name (full-time, part-time...)."),
        Column("emergency_echelon", I, "Emergency echelon (1 = called first); empty if none.", non_negative=True),
        Column("active", B, "Whether the agent is on the roster now."),
    ),
)

SCHEDULES = Table(
    name="schedules",
    description="Scheduled activities of agents.",
    key=("agent_id", "start_at"),
    ordered=(("start_at", "end_at"),),
    columns=(
        Column("agent_id", S, "Agent.", required=True),
        Column("activity", S, "Scheduled activity.", required=True, enum=_enum(Activity)),
        Column("start_at", T, "Start.", required=True),
        Column("end_at", T, "End.", required=True),
        Column("queue", S, "Queue or skill the work block is for."),
    ),
)

CUSTOMERS = Table(
    name="customers",
    description="Customer profile.",
    key=("customer_id",),
    columns=(
        Column("customer_id", S, "Customer.", required=True),
        Column("plan", S, "Current plan."),
        Column("arpu", F, "Average revenue per user per month.", non_negative=True, unit="currency"),
        Column("tenure_months", I, "Months as a customer.", non_negative=True),
        Column("network_generation", S, "2G/3G/4G/5G."),
        Column("status", S, "Account status.", enum=_enum(CustomerStatus)),
        Column("usage_gb", F, "Monthly data usage in GB.", non_negative=True, unit="GB"),
        Column("region", S, "Region."),
        Column("vip_level", I, "VIP level; 0 for none.", non_negative=True),
        Column("attributes", S, "Free attributes as a JSON object."),
    ),
)

JOURNEY_EVENTS = Table(
    name="journey_events",
    description="Steps of a customer's journey across channels.",
    key=("session_id", "seq"),
    sequence=("seq", "session_id", "ts"),
    columns=(
        Column("session_id", S, "Session (case) the step belongs to.", required=True),
        Column("seq", I, "Order of the step within its session (derived by time, then file order, if absent).",
               required=True, non_negative=True),
        Column("customer_id", S, "Customer."),
        Column("ts", T, "When the step happened.", required=True),
        Column("channel", S, "Channel of the step; empty for logs that have none.", enum=_enum(Channel)),
        Column("step", S, "Step name (login, verify_identity, ...): the activity.", required=True),
        Column("outcome", S, "ok, failed or abandoned.", enum=("ok", "failed", "abandoned")),
        Column("error_code", S, "Failure reason code."),
        Column("contact_id", S, "Contact the step led to or belongs to."),
        Column("resource", S, "Who or what performed the step (agent, team, system)."),
        Column("attributes", S, "Other source columns of the step as a JSON object."),
    ),
)

CUSTOMER_EVENTS = Table(
    name="customer_events",
    description="Account history of a customer: purchases, status changes, (un)subscriptions, suspensions.",
    key=("customer_id", "ts", "kind"),
    columns=(
        Column("customer_id", S, "Customer.", required=True),
        Column("ts", T, "When it happened.", required=True),
        Column("kind", S, "What happened.", required=True,
               enum=("purchase", "status_change", "unsubscribe", "subscribe")),
        Column("amount", F, "Amount paid (purchases).", non_negative=True, unit="currency"),
        Column("product", S, "Product bought, subscribed or unsubscribed."),
        Column("status_from", S, "Status before a status change.", enum=_enum(CustomerStatus)),
        Column("status_to", S, "Status after a status change.", enum=_enum(CustomerStatus)),
        Column("reason", S, "Reason code (billing, voluntary, dissatisfied, ...)."),
    ),
)

CAMPAIGNS = Table(
    name="campaigns",
    description="Marketing campaigns.",
    key=("campaign_id",),
    columns=(
        Column("campaign_id", S, "Campaign.", required=True),
        Column("name", S, "Name."),
        Column("product", S, "Product promoted."),
        Column("start_date", D, "First day."),
        Column("end_date", D, "Last day."),
        Column("importance", F, "Business importance weight (0-1)."),
        Column("difficulty", F, "Sales difficulty (0-1)."),
    ),
)

OFFERS = Table(
    name="offers",
    description="Offers that agents or channels can present.",
    key=("offer_id",),
    columns=(
        Column("offer_id", S, "Offer.", required=True),
        Column("campaign_id", S, "Campaign it belongs to."),
        Column("product", S, "Product."),
        Column("unit_price", F, "Price per sale.", non_negative=True, unit="currency"),
        Column("commission", F, "Commission per sale.", non_negative=True, unit="currency"),
        Column("channel_fit", S, "Channels the offer suits, ';'-separated."),
    ),
)

QA_EVALUATIONS = Table(
    name="qa_evaluations",
    description="Quality evaluations, one row per evaluated item.",
    key=("evaluation_id", "item"),
    columns=(
        Column("evaluation_id", S, "Evaluation.", required=True),
        Column("item", S, "Form item.", required=True),
        Column("contact_id", S, "Contact evaluated."),
        Column("agent_id", S, "Agent evaluated."),
        Column("evaluator", S, "Who evaluated."),
        Column("evaluated_at", T, "When."),
        Column("score", F, "Score given.", required=True, non_negative=True),
        Column("max_score", F, "Maximum possible score.", non_negative=True),
        Column("weight", F, "Weight of the item.", non_negative=True),
    ),
)

TRANSCRIPTS = Table(
    name="transcripts",
    description="Utterances of contacts, in order.",
    key=("contact_id", "seq"),
    columns=(
        Column("contact_id", S, "Contact.", required=True),
        Column("seq", I, "Order within the contact.", required=True, non_negative=True),
        Column("speaker", S, "Who spoke.", required=True, enum=_enum(Speaker)),
        Column("start_s", F, "Offset of the utterance from the start.", non_negative=True, unit="s"),
        Column("end_s", F, "End offset.", non_negative=True, unit="s"),
        Column("text", S, "What was said.", required=True),
        Column("language", S, "zh or en."),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CONTACTS,
        AGENT_STATES,
        AGENTS,
        SCHEDULES,
        CUSTOMERS,
        JOURNEY_EVENTS,
        CUSTOMER_EVENTS,
        CAMPAIGNS,
        OFFERS,
        QA_EVALUATIONS,
        TRANSCRIPTS,
    )
}

# Bookkeeping tables written by the warehouse itself (not loadable by users).
SYSTEM_TABLES = ("tenants", "loads", "rejects", "load_warnings")


def get_table(name: str) -> Table:
    """Return the canonical table ``name``; raise ``ValueError`` listing the valid names."""
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"unknown table {name!r}; expected one of: {', '.join(TABLES)}") from None
