# One worker process per replica, threads for concurrency: a payment spends most of its time
# waiting on the card network, and one process is what "a replica" means to the checks.
bind = "0.0.0.0:8000"
chdir = "/srv/app"
worker_class = "gthread"
workers = 1
threads = 16
timeout = 30
graceful_timeout = 3
pidfile = "/tmp/gunicorn.pid"
accesslog = "/var/log/payments-api.access.log"
