"""Reading tabular uploads (xlsx, xls, csv) into header-mapped rows, refusing hostile or foreign files.

Pure package: no Flask, no database. The format is decided by the content, never by the file name.
Import from the module that holds what you need (this package itself exports nothing):

- ``tables``: ``read_table`` / ``read_tables`` → ``Table`` of ``SheetRow``; the footer rule (``is_footer_row``).
- ``values``: cell text and the values sheets carry: ``cell_text``, ``normalize_text``,
  ``normalize_employee_no``, ``parse_date``, ``parse_datetime``, ``parse_decimal``.
- ``headers``: finding the header row: ``normalize_header``, matching aliases, the refusal naming what is missing.
- ``formats``: what a file is (``detect_format``, ``inspect_ole_streams``) and the checks that refuse foreign or
  hostile files (zip bombs, XML document type tricks, password-protected workbooks).
- ``readers``: the cells of xlsx (loaded or streamed), xls and csv as rows of text, merged cells filled.
- ``source``: the upload as a re-openable byte source (path, bytes or a caller's stream).
"""
