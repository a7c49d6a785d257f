# The LMS in a container: one image for the web processes and the workers (see compose.yaml, docs/deploy.md).
# Not exercised by the test suite; the tested deployment path is docs/deploy.md without containers.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-arphic-uming \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /srv/lms lms
WORKDIR /srv/lms
COPY pyproject.toml README.md babel.cfg wsgi.py ./
COPY lms ./lms
COPY courses ./courses
COPY quizzes ./quizzes
COPY certificates ./certificates
COPY migrations ./migrations
RUN python -m venv /srv/lms/.venv \
 && /srv/lms/.venv/bin/pip install --no-cache-dir ".[postgres,redis]" \
 && mkdir -p /srv/lms-media /var/lib/lms && chown -R lms:lms /srv/lms /srv/lms-media /var/lib/lms

USER lms
ENV PATH=/srv/lms/.venv/bin:$PATH \
    LMS_MEDIA_DIR=/srv/lms-media \
    LMS_INSTANCE_DIR=/var/lib/lms \
    LMS_FFMPEG=/usr/bin/ffmpeg \
    LMS_PDF_FONT=/usr/share/fonts/truetype/arphic/uming.ttc
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "5", "--threads", "4", "--timeout", "300", "--access-logfile", "-", "wsgi:app"]
