"""Words shown from data (roles, statuses, kinds) and service messages, declared so they get translated."""

from flask_babel import lazy_gettext as _l

TERMS = [
    # application roles
    _l("Learner"),
    _l("Trainer"),
    _l("Manager"),
    _l("Admin"),
    _l("Regulator"),
    _l("Evaluator"),
    # person status and history
    _l("Active"),
    _l("Left"),
    _l("hired"),
    _l("department"),
    _l("post"),
    _l("role_added"),
    _l("role_removed"),
    _l("left"),
    _l("returned"),
    # ledger kinds
    _l("course"),
    _l("exam"),
    _l("offline"),
    _l("certificate"),
    _l("manual"),
    # job states and import actions
    _l("queued"),
    _l("running"),
    _l("done"),
    _l("failed"),
    _l("Queued"),
    _l("Processing"),
    _l("Done"),
    _l("Failed"),
    _l("create"),
    _l("update"),
    _l("unchanged"),
    # service messages
    _l("Wrong user name or password."),
    _l("This account is disabled."),
    _l("Too many failed sign-ins. Wait 15 minutes or ask your manager to reset your password."),
    _l("The current password is wrong."),
    _l("The new password must differ from the current one."),
    _l("The password must have at least 8 characters."),
    _l("The password must contain letters and digits."),
]
