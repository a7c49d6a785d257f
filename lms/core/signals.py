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
