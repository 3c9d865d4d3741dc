# Production image: the same set-up as `make setup`, without the test tools.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake nodejs npm fonts-dejavu-core fonts-dejavu-extra \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# llama.cpp for any x86-64 with AVX2 (see the Makefile: the native build crashes on some CPUs).
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
RUN pip install --no-cache-dir -e . \
    && cd frontend && npm ci --no-audit --no-fund \
    && mkdir -p static/vendor && cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.min.js static/vendor/
ENV VAR_DIR=/app/var
EXPOSE 8000
CMD ["sh", "-c", "gennation db upgrade && gennation courses load && gennation serve --host 0.0.0.0 --workers 2"]
