"""What an upload is (xlsx, xls or csv, by its content, never its name), and refusing foreign or hostile files:
other formats, password-protected workbooks, zip bombs, XML document type tricks."""

from __future__ import annotations

import codecs
import io
import re
import struct
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence

from lms.core.errors import ImportRefused
from lms.core.i18n import msg
from lms.core.sheets.source import Source

MAX_UNCOMPRESSED_TOTAL = 2**30


MAX_COMPRESSION_RATIO = 200


RATIO_CHECK_MIN_SIZE = 2**20  # a member smaller than this cannot be a bomb, whatever its ratio


MAX_ZIP_MEMBERS = 10_000


XML_SCAN_BYTES = 64 * 2**10


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


# Signatures of common non-spreadsheet files that people rename to .xlsx / .csv.
# (Other binaries carry NUL or control bytes and are refused by the text check.)
_FOREIGN_MAGICS = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"Rar!",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",
    b"{\\rtf",
    b"\x7fELF",
)


CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")


def not_spreadsheet(filename: str) -> ImportRefused:
    return ImportRefused(msg("%(file)s is not a spreadsheet (xlsx, xls or csv)", file=filename))


def password_protected(filename: str) -> ImportRefused:
    return ImportRefused(
        msg("%(file)s is password-protected; save it without a password and upload again", file=filename)
    )


def _zip_local_names(head: bytes) -> tuple[list[str], bool]:
    """Walk local file headers of a (possibly truncated) zip; return the names and whether the walk ended cleanly."""
    names: list[str] = []
    pos = 0
    while pos + 30 <= len(head):
        if head[pos : pos + 4] != b"PK\x03\x04":
            return names, head[pos : pos + 4] in (b"PK\x01\x02", b"PK\x05\x06")
        flags, _method = struct.unpack_from("<HH", head, pos + 6)
        comp_size = struct.unpack_from("<I", head, pos + 18)[0]
        name_len, extra_len = struct.unpack_from("<HH", head, pos + 26)
        name = head[pos + 30 : pos + 30 + name_len].decode("utf-8", "replace")
        names.append(name)
        if flags & 0x08 and comp_size == 0:  # sizes are in a data descriptor after the data: cannot skip
            return names, False
        pos += 30 + name_len + extra_len + comp_size
    return names, False


def _classify_zip_names(
    names: Iterable[str], filename: str, content_types: bytes | None = None
) -> str | None:
    """Return 'xlsx' when the member names are those of a workbook, None when undecided; raise when foreign."""
    lower = {name.lower() for name in names}
    if "xl/workbook.bin" in lower:
        raise ImportRefused(
            msg(
                "%(file)s is an Excel binary workbook (xlsb); save it as xlsx and upload again", file=filename
            )
        )
    if "mimetype" in lower or "content.xml" in lower:
        raise ImportRefused(
            msg("%(file)s is an OpenDocument file; save it as xlsx and upload again", file=filename)
        )
    has_ct = "[content_types].xml" in lower
    if has_ct and "xl/workbook.xml" in lower:
        return "xlsx"
    if content_types is not None and re.search(
        rb"sheet\.main\+xml|template\.main\+xml|macroEnabled\.main", content_types
    ):
        return "xlsx"
    ooxml_prefixes = ("xl/", "docprops/", "_rels/", "[content_types].xml", "customxml/")
    if lower and any(name.startswith(("word/", "ppt/", "visio/")) for name in lower):
        raise not_spreadsheet(filename)
    if any(name.startswith("xl/") for name in lower):
        return "xlsx"
    if lower and not any(name.startswith(ooxml_prefixes) for name in lower):
        raise not_spreadsheet(filename)
    return None


def inspect_ole_streams(streams: Iterable[Sequence[str]], filename: str = "the file") -> str:
    """Return 'xls' for an OLE directory listing with a Workbook/Book stream; refuse encrypted OOXML and others."""
    top = {path[0].lower() for path in streams if path}
    if {"encryptioninfo", "encryptedpackage"} & top:
        raise password_protected(filename)
    if "workbook" in top or "book" in top:
        return "xls"
    raise not_spreadsheet(filename)


def _implausible_text(text: str) -> bool:
    """Return True for decoded bytes that are not text: control characters, or many unassigned/private chars."""
    if "\x00" in text or CONTROL_RE.search(text):
        return True
    sample = text[:4096]
    odd = sum(1 for char in sample if unicodedata.category(char) in ("Cn", "Co", "Cs"))
    return odd > max(2, len(sample) // 100)


def _looks_like_markup(text: str) -> bool:
    start = text.lstrip("\ufeff \t\r\n")[:1024].lower()
    return start.startswith("<") and any(
        tag in start for tag in ("<html", "<table", "<?xml", "<!doctype", "<workbook", "<meta")
    )


def text_encodings(head: bytes) -> list[str]:
    """The encodings a text file may be in, in the order tried: utf-16 when it has its BOM, else utf-8, gb18030."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    return ["utf-8-sig", "gb18030"]


def _decode_head(head: bytes) -> str | None:
    """Decode the first bytes of a text file as utf-16 (BOM), utf-8 or gb18030; None when none fits."""
    for encoding in text_encodings(head):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            return decoder.decode(head, final=False)  # a multibyte char cut at the end is not an error
        except UnicodeDecodeError:
            continue
    return None


def detect_format(head: bytes, filename: str = "the file") -> str:
    """Return 'xlsx', 'xls' or 'csv' from the first bytes (or all) of a file; raise ImportRefused otherwise."""
    if not head or not head.strip(b" \t\r\n"):
        raise ImportRefused(msg("%(file)s is empty", file=filename))
    if head.startswith(_ZIP_MAGICS):
        try:
            with zipfile.ZipFile(io.BytesIO(head)) as archive:
                names = archive.namelist()
                content_types = None
                for info in archive.infolist():
                    if info.filename.lower() == "[content_types].xml" and info.file_size < 2**20:
                        content_types = archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError):
            names, complete = _zip_local_names(head)
            kind = _classify_zip_names(names, filename)
            if kind is None and complete:
                raise not_spreadsheet(filename) from None
            return "xlsx"  # tentative: read_tables checks the whole archive before opening it
        if _classify_zip_names(names, filename, content_types) == "xlsx":
            return "xlsx"
        raise not_spreadsheet(filename)
    if head.startswith(_OLE_MAGIC):
        try:
            import olefile

            ole = olefile.OleFileIO(head)
        except Exception:  # a truncated head: read_tables inspects the whole file
            return "xls"
        try:
            return inspect_ole_streams(ole.listdir(streams=True, storages=False), filename)
        finally:
            ole.close()
    if head.startswith(_FOREIGN_MAGICS):
        raise not_spreadsheet(filename)
    text = _decode_head(head)
    if text is None:
        raise not_spreadsheet(filename)
    if _implausible_text(text):
        raise not_spreadsheet(filename)
    if _looks_like_markup(text):
        raise ImportRefused(
            msg(
                "%(file)s is a web page or XML file with a spreadsheet name; open it in Excel, "
                "save it as xlsx and upload again",
                file=filename,
            )
        )
    if not text.strip():
        raise ImportRefused(msg("%(file)s is empty", file=filename))
    return "csv"


_XML_TRICK_PATTERNS = [
    pattern
    for word in (b"<!DOCTYPE", b"<!ENTITY")
    for pattern in (word, word.decode().encode("utf-16-le"), word.decode().encode("utf-16-be"))
]


def doctype_refusal(filename: str) -> ImportRefused:
    return ImportRefused(msg("%(file)s contains XML document type declarations; refused", file=filename))


def is_defused(exc: Exception) -> bool:
    """Return True when defusedxml (which openpyxl uses when installed) stopped a DTD/entity trick."""
    from defusedxml.common import DefusedXmlException

    seen: BaseException | None = exc
    for _depth in range(10):  # openpyxl wraps parse errors in ValueError("Unable to read workbook")
        if seen is None:
            return False
        if isinstance(seen, DefusedXmlException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def check_xlsx_archive(src: Source, max_bytes: int) -> None:
    """Refuse zip bombs, DTD/entity tricks and zips that are not workbooks before openpyxl sees the file."""
    name = src.filename
    try:
        with src.open() as handle, zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                raise ImportRefused(msg("%(file)s has too many parts to be a spreadsheet", file=name))
            content_types = None
            for info in infos:
                if info.filename.lower() == "[content_types].xml":
                    with archive.open(info) as member:
                        content_types = member.read(XML_SCAN_BYTES)
            if _classify_zip_names([i.filename for i in infos], name, content_types) != "xlsx":
                raise not_spreadsheet(name)
            total = sum(info.file_size for info in infos)
            if total > min(20 * max_bytes, MAX_UNCOMPRESSED_TOTAL):
                raise ImportRefused(
                    msg(
                        "%(file)s unpacks to %(mb)s MB, which is too large; refused",
                        file=name,
                        mb=total // 2**20,
                    )
                )
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size >= RATIO_CHECK_MIN_SIZE and ratio > MAX_COMPRESSION_RATIO:
                    raise ImportRefused(
                        msg("%(file)s is compressed suspiciously well (a zip bomb?); refused", file=name)
                    )
            for info in infos:
                if info.is_dir() or not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    continue
                with archive.open(info) as member:
                    start = member.read(XML_SCAN_BYTES)
                if any(pattern in start for pattern in _XML_TRICK_PATTERNS):
                    raise doctype_refusal(name)
    except ImportRefused:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise ImportRefused(
            msg("%(file)s is a damaged or unsupported xlsx file (%(error)s)", file=name, error=str(exc))
        ) from None
