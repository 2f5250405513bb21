#!/usr/bin/env bats
# The kwctl suite, in Kubewarden's usual style: `make e2e-tests` runs it with kwctl and bats (>= 1.5) on PATH.
#
# Offline (air-gapped) machines: kwctl logs `WARN ... Cannot create Sigstore trust root` to stderr when it
# cannot reach the Sigstore TUF repository. That is harmless here (nothing is verified) and needs nothing:
# each case reads the AdmissionResponse from stdout and kwctl's messages from stderr, kept apart. To silence
# it, give kwctl a trust root: `KWCTL_FLAGS="--sigstore-trust-config trust-config.json" make e2e-tests`.
#
# CI has no kwctl: `make e2e-suite-tests` runs this suite against e2e/stand-in/kwctl (the embedded host
# behind kwctl's command line, with that WARN line), and the embedded-host tests (e2e/tests/) cover the cases.

bats_require_minimum_version 1.5.0

POLICY=${POLICY:-annotated-policy.wasm}
FIXTURES=e2e/fixtures

evaluate() { # evaluate SETTINGS REQUEST: the response on $output, kwctl's log on $stderr
  # shellcheck disable=SC2086 # KWCTL_FLAGS holds several words
  run --separate-stderr kwctl run ${KWCTL_FLAGS:-} --settings-path "$FIXTURES/settings/$1.json" \
    --request-path "$FIXTURES/requests/$2.json" "$POLICY"
}

patch_is() { # the response's JSON Patch equals $1
  echo "$output" | jq -e --argjson want "$1" '(.patch | @base64d | fromjson) == $want'
}

allowed_without_patch() {
  [ "$status" -eq 0 ]
  echo "$output" | jq -e '.allowed == true and .patch == null'
}

@test "the response is the only thing on stdout, whatever kwctl logs on stderr" {
  evaluate mapping pod-docker-hub
  [ "$status" -eq 0 ]
  echo "$output" | jq -e '.uid and .allowed == true and .patchType == "JSONPatch"'
  [[ "$stderr" != *'"allowed"'* ]]
}

@test "mapping: Docker Hub short names go to the local Harbor, with the pull secret" {
  evaluate mapping pod-docker-hub
  [ "$status" -eq 0 ]
  echo "$output" | jq -e '.allowed == true'
  patch_is '[
    {"op":"add","path":"/metadata/annotations","value":{"image-redirect.io/original-images":"{\"metrics\":\"prom/statsd-exporter:v0.26.0\",\"migrate\":\"busybox:1.36\",\"proxy\":\"envoyproxy/envoy:v1.31.2\",\"web\":\"nginx:1.27\"}"}},
    {"op":"replace","path":"/spec/containers/0/image","value":"harbor.edge.local/dockerhub/library/nginx:1.27"},
    {"op":"replace","path":"/spec/containers/1/image","value":"harbor.edge.local/dockerhub/prom/statsd-exporter:v0.26.0"},
    {"op":"replace","path":"/spec/containers/2/image","value":"harbor.edge.local/dockerhub/envoyproxy/envoy:v1.31.2"},
    {"op":"add","path":"/spec/imagePullSecrets","value":[{"name":"harbor-creds"}]},
    {"op":"replace","path":"/spec/initContainers/0/image","value":"harbor.edge.local/dockerhub/library/busybox:1.36"}]'
  echo "$output" | jq -e '.warnings[0] == "image redirected: nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27"'
}

@test "mapping: a Deployment's pod template is redirected" {
  evaluate mapping deployment
  patch_is '[
    {"op":"add","path":"/spec/template/metadata/annotations","value":{"image-redirect.io/original-images":"{\"cache\":\"redis:7.4\",\"web\":\"nginx:1.27\"}"}},
    {"op":"replace","path":"/spec/template/spec/containers/0/image","value":"harbor.edge.local/dockerhub/library/nginx:1.27"},
    {"op":"replace","path":"/spec/template/spec/containers/1/image","value":"harbor.edge.local/dockerhub/library/redis:7.4"},
    {"op":"add","path":"/spec/template/spec/imagePullSecrets","value":[{"name":"harbor-creds"}]}]'
}

@test "mapping: a CronJob's job template is redirected" {
  evaluate mapping cronjob
  patch_is '[
    {"op":"add","path":"/spec/jobTemplate/spec/template/metadata/annotations","value":{"image-redirect.io/original-images":"{\"backup\":\"bitnami/kubectl:1.31\"}"}},
    {"op":"replace","path":"/spec/jobTemplate/spec/template/spec/containers/0/image","value":"harbor.edge.local/dockerhub/bitnami/kubectl:1.31"},
    {"op":"add","path":"/spec/jobTemplate/spec/template/spec/imagePullSecrets","value":[{"name":"harbor-creds"}]}]'
}

@test "mapping: Palette's path mapping keeps the rest of the path" {
  evaluate mapping pod-palette-mapping
  patch_is '[
    {"op":"add","path":"/metadata/annotations","value":{"image-redirect.io/original-images":"{\"app\":\"somedomain.com/somepath/example-repo/alpine:latest\"}"}},
    {"op":"replace","path":"/spec/containers/0/image","value":"targetdomain.com/other/path/example-repo/alpine:latest"}]'
}

@test "mapping: fields unknown to any schema stay out of the patch" {
  evaluate mapping pod-unknown-fields
  patch_is '[
    {"op":"add","path":"/metadata/annotations","value":{"image-redirect.io/original-images":"{\"web\":\"nginx:1.27\"}"}},
    {"op":"replace","path":"/spec/containers/0/image","value":"harbor.edge.local/dockerhub/library/nginx:1.27"},
    {"op":"add","path":"/spec/imagePullSecrets","value":[{"name":"harbor-creds"}]}]'
}

@test "mapping: an excluded namespace is accepted unchanged" {
  evaluate mapping pod-kube-system
  allowed_without_patch
}

@test "prefix-all: Palette's Kairos image keeps its registry as a path segment" {
  evaluate prefix-all pod-palette-prefix
  patch_is '[
    {"op":"add","path":"/metadata/annotations","value":{"image-redirect.io/original-images":"{\"os\":\"quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1\"}"}},
    {"op":"replace","path":"/spec/containers/0/image","value":"10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1"}]'
}

@test "prefix-all: a Pod update redirects only the image it sets" {
  evaluate prefix-all pod-update
  patch_is '[
    {"op":"add","path":"/metadata/annotations","value":{"image-redirect.io/original-images":"{\"web\":\"nginx:1.27\"}"}},
    {"op":"replace","path":"/spec/containers/0/image","value":"10.10.254.254:8000/spectro-images/docker.io/library/nginx:1.27"}]'
}

@test "prefix-all: kubectl debug's ephemeral container is redirected" {
  evaluate prefix-all pod-ephemeral-debug
  patch_is '[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"10.10.254.254:8000/spectro-images/docker.io/library/busybox:1.36"}]'
}

@test "mapping + prefix: mapped first, then served by the primary registry" {
  evaluate mapping-and-prefix pod-palette-harbor
  patch_is '[
    {"op":"add","path":"/metadata/annotations","value":{"image-redirect.io/original-images":"{\"agent\":\"us-docker.pkg.dev/palette-images/edge/agent:v4.5.0\",\"kube-vip\":\"gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3\"}"}},
    {"op":"replace","path":"/spec/containers/0/image","value":"10.10.100.45:30003/gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3"},
    {"op":"replace","path":"/spec/containers/1/image","value":"10.10.100.45:30003/example.registry.com/palette-images/edge/agent:v4.5.0"}]'
}

@test "disabled: every request is accepted unchanged" {
  evaluate disabled pod-docker-hub
  allowed_without_patch
}

@test "a DELETE is never blocked" {
  evaluate mapping pod-delete
  allowed_without_patch
}

@test "a malformed object is rejected with the field at fault" {
  evaluate mapping pod-malformed
  [ "$status" -eq 0 ]
  echo "$output" | jq -e '.allowed == false and .status.message == "the Pod cannot be read: object.spec.containers: expected an array, found an object"'
}

@test "invalid settings are refused with every problem named, on stderr" {
  evaluate invalid pod-docker-hub
  [ "$status" -ne 0 ]
  [[ "$stderr" == *'Provided settings are not valid: '* ]]
  [[ "$stderr" == *'mappings[0].target: "Harbor.local/x" is not a valid registry path: uppercase letters are not allowed'* ]]
  [[ "$stderr" == *'mappings[1].source: "docker.io/nginx:1.27" is not a valid registry path: a tag is not allowed'* ]]
  [[ "$output" != *'"allowed"'* ]]
}
