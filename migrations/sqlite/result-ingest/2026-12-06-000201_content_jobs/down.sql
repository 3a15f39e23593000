DROP TABLE content_jobs;
