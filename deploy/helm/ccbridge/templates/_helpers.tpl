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

{{/* Services with a database of their own (everything but the gateway; the console's holds its
     sessions). */}}
{{- define "ccbridge.hasDatabase" -}}
{{- if ne .name "genesys-gateway" }}true{{ end -}}
{{- end -}}

{{/* Where a caller calls from: its `from`, or its name with "-" for "_". */}}
{{- define "ccbridge.callerOrigin" -}}
{{- .spec.from | default (replace "_" "-" .caller) -}}
{{- end -}}

{{/* A service's callers as JSON, leaving out those from a service of this release that is not
     enabled (the console's, until services.console.enabled). With content.enabled, result_ingest
     also holds what its content queue uses: content:read at the gateway, records:body at the
     writer. */}}
{{- define "ccbridge.callers" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $callers := dict -}}
{{- $contentScopes := dict "genesys-gateway" "content:read" "comm-history-writer" "records:body" -}}
{{- range $caller, $spec := (index $root.Values.services .name).callers -}}
{{- $origin := include "ccbridge.callerOrigin" (dict "caller" $caller "spec" $spec) -}}
{{- if or (not (hasKey $root.Values.services $origin)) (index $root.Values.services $origin).enabled -}}
{{- if and $root.Values.content.enabled (eq $caller "result_ingest") (hasKey $contentScopes $name) -}}
{{- $spec = merge (dict "scopes" (append $spec.scopes (get $contentScopes $name) | uniq)) $spec -}}
{{- end -}}
{{- $_ := set $callers $caller $spec -}}
{{- end -}}
{{- end -}}
{{- toJson $callers -}}
{{- end -}}

{{/* "true" when one of a service's callers (of those rendered) acts for people (`delegates`): the
     service then verifies each person's access token from the identity provider itself. */}}
{{- define "ccbridge.verifiesPersons" -}}
{{- $found := "" -}}
{{- range $caller, $spec := include "ccbridge.callers" . | fromJson }}{{ if $spec.delegates }}{{ $found = "true" }}{{ end }}{{ end -}}
{{- $found -}}
{{- end -}}

{{/* Where the bank's CA bundle is mounted (caBundle), or nothing. */}}
{{- define "ccbridge.caBundlePath" -}}
{{- if and .Values.caBundle.configMap .Values.caBundle.secret }}
{{- fail "caBundle: set configMap or secret, not both" }}
{{- end }}
{{- if or .Values.caBundle.configMap .Values.caBundle.secret }}/etc/ccbridge/ca/{{ .Values.caBundle.key }}{{ end -}}
{{- end -}}

{{/* The CA bundle's volume and its mount, for a pod's `volumes` and a container's `volumeMounts`. */}}
{{- define "ccbridge.caBundleVolume" -}}
{{- if include "ccbridge.caBundlePath" . }}
- name: ca-bundle
  {{- if .Values.caBundle.configMap }}
  configMap:
    name: {{ .Values.caBundle.configMap }}
  {{- else }}
  secret:
    secretName: {{ .Values.caBundle.secret }}
  {{- end }}
{{- end }}
{{- end -}}
{{- define "ccbridge.caBundleMount" -}}
{{- if include "ccbridge.caBundlePath" . }}
- name: ca-bundle
  mountPath: /etc/ccbridge/ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* The services the console calls (it holds a caller there), by name. */}}
{{- define "ccbridge.consoleCalls" -}}
{{- $root := .root -}}
{{- $calls := list -}}
{{- range $name, $service := $root.Values.services -}}
{{- range $caller, $spec := $service.callers -}}
{{- if and $service.enabled (eq (include "ccbridge.callerOrigin" (dict "caller" $caller "spec" $spec)) "console") (not (has $name $calls)) -}}
{{- $calls = append $calls $name -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $calls -}}
{{- end -}}

{{/* The secrets a service cannot start without (docs/operations.md, "Deploying"). */}}
{{- define "ccbridge.requiredSecrets" -}}
{{- $service := index .root.Values.services .name -}}
{{- $keys := list -}}
{{- if include "ccbridge.hasDatabase" . }}{{ $keys = append $keys "APP__DATABASE__URL" }}{{ end -}}
{{- range $caller, $spec := include "ccbridge.callers" . | fromJson }}{{ $keys = append $keys (printf "APP__AUTH__CALLERS__%s__TOKEN" (upper $caller)) }}{{ end -}}
{{- if eq .name "interaction-pairing" }}{{ $keys = concat $keys (list "APP__PAIRING__INTERNAL_TOKEN" "APP__PAIRING__SUPPRESSION_KEY" "APP__PAIRING__ORCHESTRATOR_TOKEN") }}{{ end -}}
{{- if eq .name "comm-history-writer" }}{{ $keys = concat $keys (list "APP__RECORDS__SUPPRESSION_KEY" "APP__RECORDS__ORCHESTRATOR_TOKEN") }}{{ end -}}
{{- if eq .name "genesys-gateway" }}{{ $keys = append $keys "APP__GENESYS__CLIENT_SECRET" }}{{ end -}}
{{- if eq .name "result-ingest" }}{{ $keys = concat $keys (list "APP__INGEST__INTERNAL_TOKEN" "APP__INGEST__SUPPRESSION_KEY" "APP__INGEST__ORCHESTRATOR_TOKEN") }}{{ end -}}
{{- if eq .name "gdpr-orchestrator" }}{{ $keys = concat $keys (list "APP__GDPR__INTERNAL_TOKEN" "APP__GDPR__IDENTIFIER_KEY" "APP__GDPR__AUDIT_KEY" "APP__GDPR__BUNDLE_KEY" "APP__GDPR__SIGNING_KEY") }}{{ end -}}
{{- if eq .name "console" }}
{{- $keys = concat $keys (list "APP__CONSOLE__SESSION_KEY" "APP__CONSOLE__OIDC__CLIENT_SECRET") -}}
{{- range $callee := include "ccbridge.consoleCalls" . | fromJsonArray }}{{ $keys = append $keys (printf "APP__CONSOLE__SERVICES__%s_TOKEN" (upper (replace "-" "_" $callee))) }}{{ end -}}
{{- end -}}
{{- toJson $keys -}}
{{- end -}}

{{/* "true" when a value is a key shipped in the repository (files/shipped-keys.txt, the same list
     as crates/service-kit/shipped-keys.txt), matched as the services match it: the value, or the
     password of a URL it holds, shares any 12 consecutive characters with a listed value (a
     listed value shorter than that: equals it), so a head or a tail cut off or changed, or the
     value set in the middle of another, is still found. (Go's substr counts bytes, Rust's window
     characters: the listed values are ASCII.)
     ccbridge.shippedKey (dict "root" $ "value" "…") */}}
{{- define "ccbridge.shippedKey" -}}
{{- $value := toString .value -}}
{{- $candidates := list $value -}}
{{- $url := "^[^:/?#]+://[^/?#:]*:([^/?#]*)@[^/?#@]*([/?#].*)?$" -}}
{{- if regexMatch $url $value }}{{ $candidates = append $candidates (regexReplaceAll $url $value "${1}") }}{{ end -}}
{{- $found := "" -}}
{{- range $line := splitList "\n" (.root.Files.Get "files/shipped-keys.txt") -}}
{{- $shipped := trim $line -}}
{{- if and $shipped (not (hasPrefix "#" $shipped)) -}}
{{- range $candidate := $candidates -}}
{{- if ge (len $shipped) 12 -}}
{{- range $start := until (int (sub (len $shipped) 11)) -}}
{{- if contains (substr $start (int (add $start 12)) $shipped) $candidate }}{{ $found = "true" }}{{ end -}}
{{- end -}}
{{- else if eq $shipped $candidate }}{{ $found = "true" }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $found -}}
{{- end -}}

{{/* Fails the render when a chart-made Secret lacks a value the service needs, when any value
     the chart is given for the service is a key shipped in the repository (development keys,
     examples: public), when it would run the service in development, or turn off
     gdpr-orchestrator's four eyes. */}}
{{- define "ccbridge.checkSecrets" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $service := index .root.Values.services .name -}}
{{- if not $service.existingSecret }}
{{- range $key := include "ccbridge.requiredSecrets" . | fromJsonArray }}
{{- $_ := required (printf "services.%s.secretEnv.%s is required (or set services.%s.existingSecret to a Secret that holds it)" $name $key $name) (index $service.secretEnv $key) }}
{{- end }}
{{- end }}
{{- $sources := dict "config" ($service.config | default dict) -}}
{{- if not $service.existingSecret }}{{ $_ := set $sources "secretEnv" ($service.secretEnv | default dict) }}{{ end -}}
{{- if not $service.existingMigrationSecret }}{{ $_ := set $sources "migrationSecretEnv" ($service.migrationSecretEnv | default dict) }}{{ end -}}
{{- range $source, $values := $sources }}
{{- range $key, $value := $values }}
{{- if include "ccbridge.shippedKey" (dict "root" $root "value" $value) }}
{{- fail (printf "services.%s.%s.%s is a key shipped in the repository (a development or example value, with or without a prefix): set your own (`%s keys` prints new ones)" $name $source $key $name) }}
{{- end }}
{{- if and (eq $name "console") (eq $key "APP__APPLICATION__METRICS_PORT_ONLY") (ne (lower (trim (toString $value))) "true") }}
{{- fail (printf "services.console.%s.APP__APPLICATION__METRICS_PORT_ONLY must stay true: the console's port faces people's browsers through its Ingress, /metrics belongs on the metrics port alone" $source) }}
{{- end }}
{{- if and (eq $name "gdpr-orchestrator") (eq (upper $key) "APP__GDPR__FOUR_EYES") (not (has (lower (trim (toString $value))) (list "true" "1" "yes" "on"))) }}
{{- fail (printf "services.gdpr-orchestrator.%s.%s must stay true: gdpr.four_eyes = false lets one person file and confirm an erasure alone (the service refuses it outside development too)" $source $key) }}
{{- end }}
{{- if and (eq $key "APP__APPLICATION__ENVIRONMENT") (eq (lower (trim (toString $value))) "development") }}
{{- fail (printf "services.%s.%s.APP__APPLICATION__ENVIRONMENT: development is refused by the chart (it accepts the development keys and the development sign-in; devstack is for development)" $name $source) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $service.runtimeRole (not $service.existingMigrationSecret) }}
{{- $_ := required (printf "services.%s.migrationSecretEnv.APP__DATABASE__URL is required with runtimeRole: the tables' owner migrates (or set services.%s.existingMigrationSecret)" $name $name) (index $service.migrationSecretEnv "APP__DATABASE__URL") }}
{{- end }}
{{- end -}}

{{/* The Secret with the owner's database URL the migrations run with, if any. */}}
{{- define "ccbridge.migrationSecretName" -}}
{{- $service := index .root.Values.services .name -}}
{{- if $service.existingMigrationSecret -}}
{{- $service.existingMigrationSecret -}}
{{- else if $service.migrationSecretEnv -}}
{{- printf "%s-migrations" (include "ccbridge.serviceName" .) -}}
{{- end -}}
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
APP__APPLICATION__ENVIRONMENT: "production"
APP__APPLICATION__PORT: {{ $service.port | quote }}
APP__APPLICATION__METRICS_PORT: {{ $root.Values.metricsPort | quote }}
APP__TELEMETRY__LOG_FILTER: {{ $root.Values.telemetry.logFilter | quote }}
APP__TELEMETRY__LOG_FORMAT: {{ $root.Values.telemetry.logFormat | quote }}
APP__TELEMETRY__OTLP_SAMPLE_RATIO: {{ $root.Values.telemetry.otlpSampleRatio | quote }}
{{- with $root.Values.telemetry.otlpEndpoint }}
APP__TELEMETRY__OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- if include "ccbridge.hasDatabase" . }}
APP__DATABASE__MIGRATE_ON_START: {{ not $root.Values.migrations.enabled | quote }}
{{- end }}
{{- range $caller, $spec := include "ccbridge.callers" . | fromJson }}
APP__AUTH__CALLERS__{{ upper $caller }}__SCOPES: {{ join "," $spec.scopes | quote }}
{{- if $spec.delegates }}
APP__AUTH__CALLERS__{{ upper $caller }}__DELEGATES: "true"
{{- end }}
{{- end }}
{{- $caBundle := include "ccbridge.caBundlePath" $root }}
{{- if and $caBundle (include "ccbridge.verifiesPersons" .) }}
APP__AUTH__PERSONS__CA_BUNDLE: {{ $caBundle | quote }}
{{- end }}
{{- if and $caBundle (eq .name "comm-history-writer") }}
APP__DELIVERY__CA_BUNDLE: {{ $caBundle | quote }}
{{- end }}
{{- if and $caBundle (eq .name "console") }}
APP__CONSOLE__OIDC__CA_BUNDLE: {{ $caBundle | quote }}
{{- end }}
{{- if include "ccbridge.verifiesPersons" . }}
APP__AUTH__PERSONS__ISSUER: {{ required "persons.issuer (or console.oidc.issuer) is required: a service with a delegating caller verifies people's access tokens from the bank's identity provider" (default $root.Values.console.oidc.issuer $root.Values.persons.issuer) | quote }}
APP__AUTH__PERSONS__AUDIENCE: {{ required "persons.audience is required: the audience the identity provider issues people's access tokens for ccbridge with" $root.Values.persons.audience | quote }}
{{- with $root.Values.persons.clients }}
APP__AUTH__PERSONS__CLIENTS: {{ join "," . | quote }}
{{- end }}
{{- with $root.Values.persons.roleClaim }}
APP__AUTH__PERSONS__ROLE_CLAIM: {{ . | quote }}
{{- end }}
{{- if eq .name "gdpr-orchestrator" }}
APP__AUTH__PERSONS__ROLES__DPO: {{ default $root.Values.console.oidc.dpoRole $root.Values.persons.dpoRole | quote }}
{{- end }}
{{- end }}
APP__GDPR_PARTICIPANT__ORCHESTRATOR_KEY: {{ required "gdpr.orchestratorPublicKey is required: the public half of gdpr-orchestrator's signing key (gdpr-orchestrator keys prints a pair)" $root.Values.gdpr.orchestratorPublicKey | quote }}
{{- if eq .name "comm-history-writer" }}
APP__RECORDS__ORCHESTRATOR_URL: {{ include "ccbridge.url" (dict "root" $root "name" "gdpr-orchestrator") | quote }}
{{- else if eq .name "interaction-pairing" }}
APP__PAIRING__COMM_HISTORY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "comm-history-writer") | quote }}
APP__PAIRING__ORCHESTRATOR_URL: {{ include "ccbridge.url" (dict "root" $root "name" "gdpr-orchestrator") | quote }}
{{- else if eq .name "result-ingest" }}
APP__INGEST__GATEWAY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "genesys-gateway") | quote }}
APP__INGEST__PAIRING_URL: {{ include "ccbridge.url" (dict "root" $root "name" "interaction-pairing") | quote }}
APP__INGEST__COMM_HISTORY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "comm-history-writer") | quote }}
APP__INGEST__ORCHESTRATOR_URL: {{ include "ccbridge.url" (dict "root" $root "name" "gdpr-orchestrator") | quote }}
{{- else if eq .name "gdpr-orchestrator" }}
APP__GDPR__RESULT_INGEST_URL: {{ include "ccbridge.url" (dict "root" $root "name" "result-ingest") | quote }}
APP__GDPR__COMM_HISTORY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "comm-history-writer") | quote }}
APP__GDPR__PAIRING_URL: {{ include "ccbridge.url" (dict "root" $root "name" "interaction-pairing") | quote }}
APP__GDPR__GATEWAY_URL: {{ include "ccbridge.url" (dict "root" $root "name" "genesys-gateway") | quote }}
{{- else if eq .name "console" }}
# Its port is what people's browsers reach (the Ingress): /metrics on the metrics port alone.
APP__APPLICATION__METRICS_PORT_ONLY: "true"
APP__CONSOLE__PUBLIC_URL: {{ required "console.publicUrl is required with services.console: the console's address as browsers see it" $root.Values.console.publicUrl | quote }}
APP__CONSOLE__OIDC__ISSUER: {{ required "console.oidc.issuer is required with services.console: the bank's identity provider" $root.Values.console.oidc.issuer | quote }}
APP__CONSOLE__OIDC__CLIENT_ID: {{ required "console.oidc.clientId is required with services.console: the console's client at the provider" $root.Values.console.oidc.clientId | quote }}
{{- /* The access token the console forwards is asked for the services' audience (RFC 8707). */}}
{{- if regexMatch "^[a-zA-Z][a-zA-Z0-9+.-]*:" $root.Values.persons.audience }}
APP__CONSOLE__OIDC__RESOURCE: {{ $root.Values.persons.audience | quote }}
{{- end }}
{{- with $root.Values.console.oidc.extraScopes }}
APP__CONSOLE__OIDC__EXTRA_SCOPES: {{ . | quote }}
{{- end }}
APP__CONSOLE__OIDC__ROLE_CLAIM: {{ $root.Values.console.oidc.roleClaim | quote }}
APP__CONSOLE__OIDC__DPO_ROLE: {{ $root.Values.console.oidc.dpoRole | quote }}
APP__CONSOLE__OIDC__OPERATOR_ROLE: {{ $root.Values.console.oidc.operatorRole | quote }}
APP__CONSOLE__OIDC__BACKOFFICE_ROLE: {{ $root.Values.console.oidc.backofficeRole | quote }}
{{- range $other := list "interaction-pairing" "comm-history-writer" "genesys-gateway" "result-ingest" "gdpr-orchestrator" }}
APP__CONSOLE__SERVICES__{{ upper (replace "-" "_" $other) }}_URL: {{ include "ccbridge.url" (dict "root" $root "name" $other) | quote }}
{{- end }}
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
  # The service's settings inline (its ConfigMap does not exist yet on install), secrets from its
  # Secret; the owner's database URL, when the service runs as another role, from the migrations'
  # Secret (the later source wins).
  env:
    {{- range $key, $value := include "ccbridge.settings" . | fromYaml }}
    - name: {{ $key }}
      value: {{ $value | quote }}
    {{- end }}
    {{- with (index .root.Values.services .name).runtimeRole }}
    - name: APP__DATABASE__RUNTIME_ROLE
      value: {{ . | quote }}
    {{- end }}
  envFrom:
    - secretRef:
        name: {{ include "ccbridge.secretName" . }}
    {{- with include "ccbridge.migrationSecretName" . }}
    - secretRef:
        name: {{ . }}
    {{- end }}
  resources:
    requests: { cpu: 50m, memory: 64Mi }
    limits: { memory: 256Mi }
  securityContext:
    {{- include "ccbridge.containerSecurityContext" .root | nindent 4 }}
  {{- with include "ccbridge.caBundleMount" .root }}
  volumeMounts:
    {{- . | nindent 4 }}
  {{- end }}
{{- end -}}


{{/* A service's non-secret settings: what the chart derives, overridden by services.<name>.config. */}}
{{- define "ccbridge.settings" -}}
{{- $service := index .root.Values.services .name -}}
{{- toYaml (merge (dict) $service.config (include "ccbridge.derivedConfig" . | fromYaml)) -}}
{{- end -}}
