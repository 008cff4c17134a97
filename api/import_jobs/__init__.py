"""Import jobs (admin): `importCreate` queues a file, the worker imports it
(api/worker.py, the import loop of `loyalty import`), `import` and `imports` read
the jobs, and GET /imports/{id}/errors.csv serves a job's error file (download.py).
"""
