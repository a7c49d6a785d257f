"""Signals (blinker) by which lower floors tell higher floors that something happened."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the Enrolment; kwargs: person, course, record
course_completed = _signals.signal("course-completed")
# sender: the Attempt; kwargs: person, exam, record
exam_passed = _signals.signal("exam-passed")
# sender: the Attempt; kwargs: person, exam
exam_submitted = _signals.signal("exam-submitted")
# sender: the OfflineSession; kwargs: person_ids, session
attendance_recorded = _signals.signal("attendance-recorded")
# sender: the Requirement; kwargs: person, requirement, valid_until
requirement_fulfilled = _signals.signal("requirement-fulfilled")
# sender: the TrainingRecord; kwargs: person
training_recorded = _signals.signal("training-recorded")
# sender: the Enterprise whose industry (and so high-risk) changed; kwargs: was_high_risk. Receivers return a
# list of what they changed (dicts with name, old, new) for the page to show.
industry_changed = _signals.signal("industry-changed")
# sender: None; kwargs: job_ids (jobs marked failed by the stale-job sweep: their worker died)
jobs_swept = _signals.signal("jobs-swept")
# sender: the Enrolment; kwargs: person, course (a course assigned to a person, newly or over a self-enrolment)
course_assigned = _signals.signal("course-assigned")
# sender: the Certificate (newly issued); kwargs: person
certificate_issued = _signals.signal("certificate-issued")
# In-app notifications (lms.training.notifications), the hook for every feature, whatever its floor:
# - notification_events: sender None; kwargs enterprise_id, as_of (the enterprise's local day), now (naive UTC).
#   Receivers return a list of events to make sure exist (the daily job runs it; idempotent by key), e.g. a
#   hazard to rectify by tomorrow or a permit about to lapse.
# - notify: sender None; kwargs enterprise_id, events: store these events now (the moment something happens).
# An event is a dict: person_id (or user_id), kind, key (unique per person and event and thing), message (a
# lms.core.i18n.Message, so that each reader gets it in their language), link (a path), body (a Message or None).
notification_events = _signals.signal("notification-events")
notify = _signals.signal("notify")
