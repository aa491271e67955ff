#!/usr/bin/env bash
# Install llama-cpp-python built for every x86-64 CPU with AVX2, never for this one.
#
# llama.cpp's default build is `-march=native` (GGML_NATIVE=ON): on a CPU that reports AMX or
# AVX-512 the library uses them, and a virtual machine that reports a feature without allowing it
# kills the process with SIGILL on the first answer. pip's wheel cache keys on the sdist, not on
# CMAKE_ARGS, so a native wheel cached earlier would come back on every `pip install`. So we build
# the wheel ourselves with pip's cache off, keep it in our own cache keyed by version + flags, and
# force-install exactly that file. The install is then checked: `rag.llm.portable` refuses a
# library whose compiled features include AVX-512 or AMX.
#
# usage: scripts/install_llama_cpp.sh PYTHON
set -euo pipefail
PY=${1:?usage: install_llama_cpp.sh PYTHON}
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
# AVX2 + FMA + F16C + BMI2: every x86-64 CPU since Haswell / Zen 1. No AVX-512, no AMX.
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
-DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF -DLLAMA_CURL=OFF"
KEY=$(printf '%s %s' "$VERSION" "$FLAGS" | sha256sum | cut -c1-16)
CACHE=${RAGSPACE_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ragspace/wheels}/llama-cpp-python-$VERSION-$KEY
mkdir -p "$CACHE"
WHEEL=$(ls "$CACHE"/llama_cpp_python-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$WHEEL" ]; then
  echo "building llama-cpp-python $VERSION for any AVX2 CPU (no -march=native); about 10 minutes on 2 cores, once per machine"
  TMP=$(mktemp -d)
  CMAKE_ARGS="$FLAGS" FORCE_CMAKE=1 "$PY" -m pip wheel --quiet --no-cache-dir --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -w "$TMP"
  mv "$TMP"/llama_cpp_python-*.whl "$CACHE"/
  rm -rf "$TMP"
  WHEEL=$(ls "$CACHE"/llama_cpp_python-*.whl | head -n1)
fi
"$PY" -m pip install --quiet --no-deps --force-reinstall "$WHEEL"
"$PY" -m pip install --quiet "$WHEEL"   # its dependencies (numpy, jinja2, diskcache, typing-extensions)
# Prove it: every shared library of the installed package has the hash our wheel's RECORD gives it.
"$PY" - "$WHEEL" <<'PY'
import base64, hashlib, importlib.util, pathlib, sys, zipfile

wheel = zipfile.ZipFile(sys.argv[1])
record = next(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD"))
site = pathlib.Path(next(iter(importlib.util.find_spec("llama_cpp").submodule_search_locations))).parent
checked, wrong = 0, []
for line in wheel.read(record).decode().splitlines():
    path, digest, _ = line.rsplit(",", 2)
    if not path.endswith((".so", ".dylib")) or not digest:
        continue
    algo, expected = digest.split("=", 1)
    actual = base64.urlsafe_b64encode(hashlib.new(algo, (site / path).read_bytes()).digest()).rstrip(b"=").decode()
    checked += 1
    if actual != expected:
        wrong.append(path)
if wrong or not checked:
    sys.exit(f"llama-cpp-python in this venv is not the portable build (differs: {wrong or 'no libraries'})")
print(f"verified: {checked} llama.cpp libraries match the portable wheel")
PY
echo "llama-cpp-python: $(basename "$WHEEL") (portable build, flags key $KEY)"
