#!/bin/sh
# Stage one model's weights into the node's model cache: resumable, verified, renamed into place atomically.
# Run by the serving pods' init container (gpuctl render/serving.py); POSIX sh + curl + coreutils/busybox.
#
# Environment (all set by the rendered pod, none from a user at run time):
#   STAGE_DEST             the model's directory in the cache (hostPath), e.g. /models/llama-3.1-70b
#   STAGE_SOURCE_URL       http(s) base URL of the model directory, or empty when STAGE_SOURCE_DIR is set
#   STAGE_SOURCE_DIR       a mounted directory (NFS export) holding the model, or empty
#   STAGE_MANIFEST_SHA256  SHA-256 of the source's SHA256SUMS (sha256sum format, paths relative to the directory)
#   STAGE_SIZE_KIB         the model's size; staging refuses to start without that much free (minus what is staged)
#   STAGE_TOKEN            optional bearer token (from a Secret); sent in a curl config read from stdin, so it
#                           never appears on a command line
set -eu

dest=$STAGE_DEST
partial="$dest.partial"
marker="$dest/.gpuctl-verified"

log() { printf 'stage-weights: %s\n' "$*" >&2; }

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$STAGE_MANIFEST_SHA256" ]; then
    log "$dest already staged and verified"
    exit 0
fi

mkdir -p "$(dirname "$dest")"
# One stager per model per node: pods of the same deployment on one node wait for each other.
exec 9>"$dest.lock"
flock 9
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$STAGE_MANIFEST_SHA256" ]; then
    log "$dest staged by another pod"
    exit 0
fi
mkdir -p "$partial"

free_kib=$(df -Pk "$partial" | awk 'NR == 2 { print $4 }')
have_kib=$(du -sk "$partial" | awk '{ print $1 }')
need_kib=$((STAGE_SIZE_KIB - have_kib))
if [ "$free_kib" -lt "$need_kib" ]; then
    log "not enough space: $need_kib KiB still to stage, $free_kib KiB free on $(dirname "$dest")"
    exit 3
fi

fetch() { # $1: path relative to the model directory; resumes a partial file
    if [ -n "${STAGE_SOURCE_DIR:-}" ]; then
        cp "$STAGE_SOURCE_DIR/$1" "$partial/$1"
    elif [ -n "${STAGE_TOKEN:-}" ]; then
        printf 'header = "Authorization: Bearer %s"\n' "$STAGE_TOKEN" |
            curl -fsSL --retry 5 --retry-delay 2 -C - -K - -o "$partial/$1" "$STAGE_SOURCE_URL/$1"
    else
        curl -fsSL --retry 5 --retry-delay 2 -C - -o "$partial/$1" "$STAGE_SOURCE_URL/$1"
    fi
}

rm -f "$partial/SHA256SUMS"
fetch SHA256SUMS
if ! printf '%s  %s\n' "$STAGE_MANIFEST_SHA256" "$partial/SHA256SUMS" | sha256sum -c - >/dev/null 2>&1; then
    log "SHA256SUMS does not match manifest_sha256 $STAGE_MANIFEST_SHA256: refusing the source"
    exit 4
fi

cd "$partial"
while read -r sum path; do
    path=${path#\*}
    case "$path" in
    "" | /* | *..* | SHA256SUMS | .gpuctl-verified)
        log "refusing manifest entry '$path'"
        exit 4
        ;;
    esac
    if [ -f "$path" ] && printf '%s  %s\n' "$sum" "$path" | sha256sum -c - >/dev/null 2>&1; then
        continue # staged by an earlier run
    fi
    mkdir -p "$(dirname "$path")"
    if ! fetch "$path" || ! printf '%s  %s\n' "$sum" "$path" | sha256sum -c - >/dev/null 2>&1; then
        # A wrong byte anywhere cannot be resumed past: start the file again once.
        rm -f "$path"
        fetch "$path"
        printf '%s  %s\n' "$sum" "$path" | sha256sum -c - >/dev/null 2>&1 || {
            log "$path does not match its checksum after a fresh download"
            exit 4
        }
    fi
done <SHA256SUMS
printf '%s\n' "$STAGE_MANIFEST_SHA256" >.gpuctl-verified
cd /

# Into place: a rename within one filesystem is atomic; an older version is renamed away first.
if [ -e "$dest" ]; then
    mv "$dest" "$dest.old.$$"
fi
mv "$partial" "$dest"
rm -rf "$dest.old.$$"
log "staged $dest"
