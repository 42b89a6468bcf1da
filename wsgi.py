"""The WSGI entry point gunicorn serves: `gunicorn -c gunicorn.conf.py wsgi:app`."""

from dbconnector import create_app

app = create_app()
