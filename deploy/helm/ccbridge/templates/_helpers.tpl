{{/* The release's full name, at most 40 characters so "<fullname>-<service>" fits in 63. */}}
{{- define "ccbridge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A service's resource name: ccbridge.serviceName (dict "root" $ "name" "result-ingest") */}}
{{- define "ccbridge.serviceName" -}}
{{- printf "%s-%s" (include "ccbridge.fullname" .root) .name -}}
{{- end -}}

{{- define "ccbridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/name: ccbridge
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "ccbridge.selectorLabels" -}}
app.kubernetes.io/name: ccbridge
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "ccbridge.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ccbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ccbridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Services with a database of their own (everything but the gateway). */}}
{{- define "ccbridge.hasDatabase" -}}
{{- if ne .name "genesys-gateway" }}true{{ end -}}
{{- end -}}

{{/* The Secret a service reads its secrets from. */}}
{{- define "ccbridge.secretName" -}}
{{- $service := index .root.Values.services .name -}}
{{- default (include "ccbridge.serviceName" .) $service.existingSecret -}}
{{- end -}}

{{/* The URL of another service in this release. */}}
{{- define "ccbridge.url" -}}
{{- $service := index .root.Values.services .name -}}
{{- printf "http://%s:%v" (include "ccbridge.serviceName" .) $service.port -}}
{{- end -}}

{{/* The settings the chart derives: where to listen, telemetry, how services find each other. */}}
{{- define "ccbridge.derivedConfig" -}}
{{- $root := .root -}}
{{- $service := index $root.Values.services .name -}}
APP__APPLICATION__HOST: "0.0.0.0"
APP__APPLICATION__PORT: {{ $service.port | quote }}
APP__TELEMETRY__LOG_FILTER: {{ $root.Values.telemetry.logFilter | quote }}
APP__TELEMETRY__LOG_FORMAT: {{ $root.Values.telemetry.logFormat | quote }}
APP__TELEMETRY__OTLP_SAMPLE_RATIO: {{ $root.Values.telemetry.otlpSampleRatio | quote }}
{{- with $root.Values.telemetry.otlpEndpoint }}
APP__TELEMETRY__OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- if include "ccbridge.hasDatabase" . }}
APP__DATABASE__MIGRATE_ON_START: {{ not $root.Values.migrations.enabled | quote }}
{{- end }}
{{- if eq .name "interaction-pairing" }}
APP__PAIRING__COMM_HISTORY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "comm-history-writer") | quote }}
{{- else if eq .name "result-ingest" }}
APP__INGEST__GATEWAY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "genesys-gateway") | quote }}
APP__INGEST__PAIRING_URL: {{ include "ccbridge.url" (dict "root" $root "name" "interaction-pairing") | quote }}
APP__INGEST__COMM_HISTORY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "comm-history-writer") | quote }}
{{- else if eq .name "gdpr-orchestrator" }}
APP__GDPR__RESULT_INGEST_URL: {{ include "ccbridge.url" (dict "root" $root "name" "result-ingest") | quote }}
APP__GDPR__COMM_HISTORY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "comm-history-writer") | quote }}
APP__GDPR__PAIRING_URL: {{ include "ccbridge.url" (dict "root" $root "name" "interaction-pairing") | quote }}
APP__GDPR__GATEWAY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "genesys-gateway") | quote }}
{{- end }}
{{- end -}}

{{- define "ccbridge.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ccbridge.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}


{{/* A container that applies one service's migrations. */}}
{{- define "ccbridge.migrateContainer" -}}
- name: migrate-{{ .name }}
  image: {{ include "ccbridge.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command: ["/usr/local/bin/{{ .name }}", "migrate"]
  # The service's settings inline (its ConfigMap does not exist yet on install), secrets from its Secret.
  env:
    {{- range $key, $value := include "ccbridge.settings" . | fromYaml }}
    - name: {{ $key }}
      value: {{ $value | quote }}
    {{- end }}
  envFrom:
    - secretRef:
        name: {{ include "ccbridge.secretName" . }}
  resources:
    requests: { cpu: 50m, memory: 64Mi }
    limits: { memory: 256Mi }
  securityContext:
    {{- include "ccbridge.containerSecurityContext" .root | nindent 4 }}
{{- end -}}


{{/* A service's non-secret settings: what the chart derives, overridden by services.<name>.config. */}}
{{- define "ccbridge.settings" -}}
{{- $service := index .root.Values.services .name -}}
{{- toYaml (merge (dict) $service.config (include "ccbridge.derivedConfig" . | fromYaml)) -}}
{{- end -}}
