# Everything a tutorial gets wrong, on purpose.
FROM python:latest
ENV SECRET_KEY=dev-3f9a8c7b6d5e4f3a2b1c
ARG GITHUB_TOKEN
RUN apt-get update && apt-get install -y gcc curl
RUN curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
RUN pip install flask gunicorn
RUN curl -k https://internal.example.com/cert.pem -o /tmp/cert.pem
ADD . /app
WORKDIR /app
USER root
EXPOSE 5000
CMD flask run --host=0.0.0.0 --debug
