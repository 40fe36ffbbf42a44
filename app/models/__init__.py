"""Every ORM model, one module per aggregate. Importing this package registers them all."""

from app.models.alerts import Alert, AlertRule
from app.models.base import Base
from app.models.channel_thread import ChannelThread
from app.models.chat import PRESENCE_FRESH_SECONDS, Chat, LivePresence
from app.models.continuity import (
    Absence,
    AbsenceReason,
    AgentSkill,
    Handover,
    RoutingRule,
    TeamContinuity,
)
from app.models.event import TicketEvent
from app.models.feedback import (
    Feedback,
    FeedbackChange,
    FeedbackKind,
    FeedbackStatus,
    FeedbackVote,
    SatisfactionSurvey,
    SurveyAnswerVia,
)
from app.models.idempotency import IdempotencyRecord
from app.models.identity import NO_EMAIL_DOMAIN, CustomerMerge, Identity, IdentityKind
from app.models.inbound import (
    Attachment,
    InboundMessage,
    IntakeOutcome,
    Mailbox,
    MailboxAuth,
    MailboxSecurity,
)
from app.models.link import LinkRelation, TicketLink
from app.models.metrics import MetricRollup, MetricRollupDelta, MetricTicketFacts
from app.models.notification import (
    DeliveryChannel,
    DeliveryStatus,
    NotificationDelivery,
    NotificationPreference,
    TicketFollower,
    WebhookEndpoint,
)
from app.models.rate_limit import RateLimitBucket
from app.models.sign_in import SignInLink, SignInRequest, SignInThrottle
from app.models.sla import BusinessCalendarRow, SlaAlert, SlaLevel, SlaPolicy, SlaTarget
from app.models.team import AssignmentMode, Team, TeamMember
from app.models.ticket import (
    Channel,
    Level,
    Message,
    Priority,
    Ticket,
    TicketStatus,
    Visibility,
)
from app.models.user import STAFF_ROLES, ApiToken, Role, User

__all__ = [
    "NO_EMAIL_DOMAIN",
    "PRESENCE_FRESH_SECONDS",
    "STAFF_ROLES",
    "Absence",
    "AbsenceReason",
    "AgentSkill",
    "Alert",
    "AlertRule",
    "ApiToken",
    "AssignmentMode",
    "Attachment",
    "Base",
    "BusinessCalendarRow",
    "Channel",
    "ChannelThread",
    "Chat",
    "CustomerMerge",
    "DeliveryChannel",
    "DeliveryStatus",
    "Feedback",
    "FeedbackChange",
    "FeedbackKind",
    "FeedbackStatus",
    "FeedbackVote",
    "Handover",
    "IdempotencyRecord",
    "Identity",
    "IdentityKind",
    "InboundMessage",
    "IntakeOutcome",
    "Level",
    "LinkRelation",
    "LivePresence",
    "Mailbox",
    "MailboxAuth",
    "MailboxSecurity",
    "Message",
    "MetricRollup",
    "MetricRollupDelta",
    "MetricTicketFacts",
    "NotificationDelivery",
    "NotificationPreference",
    "Priority",
    "RateLimitBucket",
    "Role",
    "RoutingRule",
    "SatisfactionSurvey",
    "SignInLink",
    "SignInRequest",
    "SignInThrottle",
    "SlaAlert",
    "SlaLevel",
    "SlaPolicy",
    "SlaTarget",
    "SurveyAnswerVia",
    "Team",
    "TeamContinuity",
    "TeamMember",
    "Ticket",
    "TicketEvent",
    "TicketFollower",
    "TicketLink",
    "TicketStatus",
    "User",
    "Visibility",
    "WebhookEndpoint",
]
