"""The API's models (pydantic): they validate each call and are the OpenAPI document's schemas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from lms.api.core import MAX_ID, Model

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Cursor = Annotated[str, StringConstraints(max_length=64)]
Limit = Annotated[int, Field(ge=1, le=1000)]
Short = Annotated[str, StringConstraints(max_length=100)]
EmployeeNo = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-/]+$")]


def _plausible(value: Any) -> Any:
    """Refuse dates no training has (year 1, 9999): they overflow time zone arithmetic instead of meaning anything."""
    if not 1900 <= value.year <= 2200:
        raise ValueError("the year must be between 1900 and 2200")
    return value


When = Annotated[
    dt.datetime,
    AfterValidator(_plausible),
    Field(description="ISO 8601; without an offset, the enterprise's local time"),
]
Day = Annotated[dt.date, AfterValidator(_plausible)]


class Paged(Model):
    enterprise: Code | None = Field(
        None, description="Enterprise code (needed by a regulator's key of several)"
    )
    cursor: Cursor | None = Field(None, description="next_cursor of the previous page")
    limit: Limit = 100


# ------------------------------------------------------------------------------------------ enterprises


class EnterpriseOut(BaseModel):
    code: str
    name: str
    time_zone: str
    industry: str | None
    high_risk: bool


class EnterpriseList(BaseModel):
    items: list[EnterpriseOut]


class EnterpriseQuery(Model):
    enterprise: Code | None = None


# ------------------------------------------------------------------------------------------ org


class DepartmentOut(BaseModel):
    id: int
    name: str
    path: str
    parent_id: int | None
    depth: int


class DepartmentList(BaseModel):
    items: list[DepartmentOut]


class PostOut(BaseModel):
    id: int
    name: str
    department_id: int | None


class PostList(BaseModel):
    items: list[PostOut]


class PeopleQuery(Paged):
    department_id: Id | None = Field(None, description="Only this department and the departments under it")
    post_id: Id | None = None
    role: Short | None = Field(None, description="Responsibility role name, e.g. 特种作业人员")
    status: Literal["active", "left"] | None = None
    employee_no: EmployeeNo | None = None


class PersonOut(BaseModel):
    id: int
    employee_no: str
    name: str
    department_id: int | None
    department: str | None = Field(description="Department path, e.g. 一车间/甲班")
    post_id: int | None
    post: str | None
    roles: list[str]
    status: Literal["active", "left"]
    phone: str | None
    hire_date: dt.date | None
    left_on: dt.date | None
    away_from: dt.date | None
    returned_on: dt.date | None
    created_at: str = Field(description="ISO 8601 with the enterprise's offset")


class PersonPage(BaseModel):
    items: list[PersonOut]
    next_cursor: str | None


class PersonIn(Model):
    """One person as a roster row: omitted fields are left as they are (as a column missing from a sheet)."""

    employee_no: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(description="工号")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    department: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        None, description="Path, e.g. 一车间/甲班 (made when missing)"
    )
    post: Annotated[str, StringConstraints(max_length=200)] | None = None
    roles: list[Annotated[str, StringConstraints(max_length=100)]] | None = Field(None, max_length=20)
    hire_date: Day | None = None
    away_from: Day | None = Field(None, description="离岗日期")
    returned_on: Day | None = Field(None, description="返岗日期")
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    status: Literal["active", "left", "在职", "离职"] | None = None


class BulkPeopleIn(Model):
    enterprise: Code | None = None
    people: list[PersonIn] = Field(max_length=50_000)
    dry_run: bool = Field(False, description="Check only: write nothing")


class RowError(BaseModel):
    row: int | None = Field(description="Row of the roster the people were turned into (header = 1)")
    index: int | None = Field(description="0-based index of the person in the request")
    field: str | None
    message: str


class RosterResultOut(BaseModel):
    """The same object as `lms import-roster --json` (plus ``index`` in each error)."""

    file: str
    dry_run: bool
    committed: bool
    created: int
    updated: int
    unchanged: int
    errors: list[RowError]
    departments_created: list[str]
    posts_created: list[str]


# ------------------------------------------------------------------------------------------ records

Kind = Literal["course", "exam", "offline", "certificate", "manual"]


class RecordsQuery(Paged):
    person_id: Id | None = None
    employee_no: EmployeeNo | None = None
    since: When | None = Field(None, description="Completed at or after")
    until: When | None = Field(None, description="Completed before")
    kind: Kind | None = None
    source: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="Kind of source: api, course_enrolment, exam, offline_session, manual, import …"
    )
    external_id: ExternalId | None = None
    include_voided: bool = False


class RecordOut(BaseModel):
    id: int
    person_id: int
    employee_no: str
    kind: str
    topic: str
    category: str | None
    level: str | None
    hours: Decimal
    started_at: str | None
    completed_at: str
    score: Decimal | None
    passed: bool | None
    valid_until: dt.date | None
    certificate_no: str | None
    source: str = Field(description="Kind of source (api, course_enrolment, offline_session …)")
    external_id: str | None
    recorded_at: str
    voided_at: str | None
    void_reason: str | None


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None


class RecordIn(Model):
    """Training done outside the system. Sending the same external_id again changes nothing (or replaces the
    record when its content changed)."""

    enterprise: Code | None = None
    external_id: ExternalId
    employee_no: EmployeeNo
    kind: Literal["manual", "certificate"] = "manual"
    topic: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    hours: Decimal = Field(Decimal("0"), ge=0, le=9999, max_digits=7, decimal_places=2)
    completed_at: When
    started_at: When | None = None
    category: Annotated[str, StringConstraints(max_length=100)] | None = None
    level: Literal["company", "workshop", "team"] | None = None
    score: Decimal | None = Field(None, ge=0, le=9999, max_digits=7, decimal_places=2)
    passed: bool | None = None
    valid_until: Day | None = None
    certificate_no: Annotated[str, StringConstraints(max_length=100)] | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RecordResultOut(BaseModel):
    outcome: Literal["created", "replaced", "unchanged"]
    record: RecordOut


class VoidIn(Model):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=300)]


# ------------------------------------------------------------------------------------------ status


class AsOfQuery(Model):
    enterprise: Code | None = None
    as_of: Day | None = Field(None, description="Default: today in the enterprise")


class CoverageQuery(AsOfQuery):
    department_id: Id | None = None
    post_id: Id | None = None
    role_id: Id | None = None


class StatusRow(BaseModel):
    requirement_id: int
    requirement: str
    status: str
    hours_done: Decimal | None
    hours_due: Decimal | None
    due_on: dt.date | None
    valid_until: dt.date | None
    completed_at: str | None


class PersonStatusOut(BaseModel):
    person_id: int
    employee_no: str
    name: str
    as_of: dt.date
    requirements: list[StatusRow]


class CoverageRow(BaseModel):
    key: int | None
    label: str | None
    people: int
    compliant: int
    late: int
    due_soon: int
    share: float | None
    exempt: int | None = None


class CoverageOut(BaseModel):
    by: str
    as_of: dt.date
    figures: dict[str, Any]
    rows: list[CoverageRow]


# ------------------------------------------------------------------------------------------ certificates


class CertificatesQuery(Paged):
    person_id: Id | None = None
    employee_no: EmployeeNo | None = None
    status: Literal["valid", "expired", "revoked"] | None = None


class CertificateOut(BaseModel):
    id: int
    number: str
    person_id: int
    employee_no: str
    holder_name: str
    title: str
    kind: str
    hours: Decimal
    score: Decimal | None
    issued_on: dt.date
    valid_until: dt.date | None
    status: Literal["valid", "expired", "revoked"]


class CertificatePage(BaseModel):
    items: list[CertificateOut]
    next_cursor: str | None


class VerifyQuery(Model):
    number: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class VerifyOut(BaseModel):
    valid: bool
    certificate: CertificateOut | None


# ------------------------------------------------------------------------------------------ xAPI


class XapiQuery(Paged):
    since: When | None = None
    until: When | None = None


class XapiPage(BaseModel):
    items: list[dict[str, Any]] = Field(description="xAPI 1.0.3 statements")
    next_cursor: str | None
