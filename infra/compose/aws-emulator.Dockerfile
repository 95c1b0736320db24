# The AWS emulator of docker-compose.yml: moto's server on the breakfix base image. moto itself is
# the one breakfix installed (its virtualenv's site-packages, bound read-only at run time), so the
# compose emulator and the one breakfix starts on demand are the same program: nothing is downloaded.
FROM breakfix/base:bookworm
ENV PYTHONPATH=/opt/breakfix/site-packages PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 4566
HEALTHCHECK --interval=2s --timeout=2s --start-period=2s --retries=15 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4566/moto-api/', timeout=1)"]
CMD ["python3", "-m", "moto.server", "-H", "0.0.0.0", "-p", "4566"]
