{{/* The chart name, or nameOverride. */}}
{{- define "seatkeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every resource: fullnameOverride, else <release>-<name>
(just <release> when the release name already contains the chart name).
*/}}
{{- define "seatkeeper.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "seatkeeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seatkeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "seatkeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "seatkeeper.labels" -}}
helm.sh/chart: {{ include "seatkeeper.chart" . }}
{{ include "seatkeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ include "seatkeeper.imageTag" . | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: seatkeeper
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "seatkeeper.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "seatkeeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "seatkeeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when the controller authenticates as a GitHub App. */}}
{{- define "seatkeeper.appMode" -}}
{{- if ne (toString .Values.auth.githubApp.appId) "" }}true{{ end }}
{{- end }}

{{/* The Secret holding the GitHub credentials: the user's or the chart's. */}}
{{- define "seatkeeper.authSecretName" -}}
{{- .Values.auth.existingSecret | default (include "seatkeeper.fullname" .) }}
{{- end }}

{{/* The Secret holding the webhook secret: the user's or the chart's. */}}
{{- define "seatkeeper.webhookSecretName" -}}
{{- .Values.webhook.existingSecret | default (include "seatkeeper.fullname" .) }}
{{- end }}

{{/* "true" when the chart must create its own Secret. */}}
{{- define "seatkeeper.createSecret" -}}
{{- if or (not .Values.auth.existingSecret) (and .Values.webhook.enabled (not .Values.webhook.existingSecret)) (and .Values.status.token (not .Values.status.existingSecret)) }}true{{ end }}
{{- end }}

{{/* Paths inside the container. */}}
{{- define "seatkeeper.configDir" -}}/etc/seatkeeper/config{{- end }}
{{- define "seatkeeper.existingConfigDir" -}}/etc/seatkeeper/existing-config{{- end }}
{{- define "seatkeeper.authDir" -}}/var/run/secrets/seatkeeper/github{{- end }}
{{- define "seatkeeper.webhookDir" -}}/var/run/secrets/seatkeeper/webhook{{- end }}
{{- define "seatkeeper.statusDir" -}}/var/run/secrets/seatkeeper/status{{- end }}

{{/* The Secret holding the /status token: the user's or the chart's. */}}
{{- define "seatkeeper.statusSecretName" -}}
{{- .Values.status.existingSecret | default (include "seatkeeper.fullname" .) }}
{{- end }}

{{/* "true" when /status has a token (--status-token-file). */}}
{{- define "seatkeeper.statusToken" -}}
{{- if or .Values.status.existingSecret .Values.status.token }}true{{ end }}
{{- end }}

{{/* `HOST:PORT` on the pod's IP (the POD_IP variable, expanded by the kubelet). */}}
{{- define "seatkeeper.podAddr" -}}
{{- if eq .root.Values.ipFamily "IPv6" -}}
[$(POD_IP)]:{{ int64 .port }}
{{- else -}}
$(POD_IP):{{ int64 .port }}
{{- end -}}
{{- end }}

{{/*
Check the values that the schema cannot: exactly one way of passing each
credential, at least one source, a grace period longer than the shutdown
timeout. Fails the render with a message saying what to set.
*/}}
{{- define "seatkeeper.validate" -}}
{{- if and (gt (int64 .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
  {{- fail (printf "replicaCount is %d: more than one replica needs leaderElection.enabled=true, or every replica would apply every plan" (int64 .Values.replicaCount)) -}}
{{- end -}}
{{- $app := include "seatkeeper.appMode" . -}}
{{- if .Values.auth.existingSecret -}}
  {{- if or .Values.auth.token .Values.auth.githubApp.privateKey -}}
    {{- fail "auth.existingSecret is set: leave auth.token and auth.githubApp.privateKey empty (the credentials come from the existing Secret)" -}}
  {{- end -}}
{{- else if $app -}}
  {{- if not .Values.auth.githubApp.privateKey -}}
    {{- fail "GitHub App mode (auth.githubApp.appId is set) needs the App's private key: set auth.existingSecret (a Secret with the key in auth.existingSecretKeys.privateKey) or auth.githubApp.privateKey" -}}
  {{- end -}}
  {{- if .Values.auth.token -}}
    {{- fail "auth.token and auth.githubApp.appId are both set: choose a token or a GitHub App" -}}
  {{- end -}}
{{- else -}}
  {{- if not .Values.auth.token -}}
    {{- fail "no GitHub credentials: set auth.existingSecret (a Secret with a `token` key, or a GitHub App key with auth.githubApp.appId), or auth.token, or auth.githubApp.appId with auth.githubApp.privateKey" -}}
  {{- end -}}
  {{- if .Values.auth.githubApp.privateKey -}}
    {{- fail "auth.githubApp.privateKey is set but auth.githubApp.appId is empty: set the App's id" -}}
  {{- end -}}
{{- end -}}
{{- if and (not $app) (ne (toString .Values.auth.githubApp.installationId) "") -}}
  {{- fail "auth.githubApp.installationId is set but auth.githubApp.appId is empty: set the App's id" -}}
{{- end -}}
{{- if and .Values.source.github.repo (not .Values.source.github.owner) -}}
  {{- fail "source.github.repo is set: set source.github.owner too" -}}
{{- end -}}
{{- if and .Values.source.github.owner (not .Values.source.github.repo) -}}
  {{- fail "source.github.owner is set: set source.github.repo too" -}}
{{- end -}}
{{- if not (or .Values.source.seatsYaml .Values.source.existingConfigMap .Values.source.github.repo .Values.source.extra) -}}
  {{- fail "no desired-state source: set source.seatsYaml (seats.yaml inline), source.existingConfigMap, or source.github.owner/repo/path/ref" -}}
{{- end -}}
{{- if and .Values.webhook.enabled (not (or .Values.webhook.existingSecret .Values.webhook.secret)) -}}
  {{- fail "webhook.enabled needs a secret: set webhook.existingSecret or webhook.secret (the same value as in the GitHub webhook's settings)" -}}
{{- end -}}
{{- if and .Values.webhook.existingSecret .Values.webhook.secret -}}
  {{- fail "webhook.existingSecret and webhook.secret are both set: choose one" -}}
{{- end -}}
{{- if and .Values.status.existingSecret .Values.status.token -}}
  {{- fail "status.existingSecret and status.token are both set: choose one" -}}
{{- end -}}
{{- if and .Values.status.public (include "seatkeeper.statusToken" .) -}}
  {{- fail "status.public serves /status to everyone: leave status.token and status.existingSecret empty, or turn status.public off" -}}
{{- end -}}
{{- if eq (int .Values.port) (int .Values.probePort) -}}
  {{- fail "port and probePort must differ: the probes and metrics have a listener of their own" -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled .Values.webhook.enabled (not .Values.networkPolicy.ingressFrom) -}}
  {{- fail "networkPolicy.enabled and webhook.enabled: set networkPolicy.ingressFrom to the pods that forward GitHub's deliveries (your ingress controller, e.g. [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]), or turn networkPolicy off" -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled .Values.serviceMonitor.enabled (not .Values.networkPolicy.metricsFrom) -}}
  {{- fail "networkPolicy.enabled and serviceMonitor.enabled: set networkPolicy.metricsFrom to your Prometheus's pods (e.g. [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]), or turn networkPolicy off" -}}
{{- end -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.shutdownTimeoutSeconds) -}}
  {{- fail "terminationGracePeriodSeconds must be longer than shutdownTimeoutSeconds, or Kubernetes kills the controller in the middle of a batch" -}}
{{- end -}}
{{- end }}

{{/* The container's arguments: global flags, then `run` and its flags. */}}
{{- define "seatkeeper.args" -}}
- {{ printf "--log-format=%s" .Values.logFormat | quote }}
- "run"
{{- if .Values.source.seatsYaml }}
- {{ printf "--config=%s/seats.yaml" (include "seatkeeper.configDir" .) | quote }}
{{- end }}
{{- if .Values.source.existingConfigMap }}
- {{ printf "--config=%s/%s" (include "seatkeeper.existingConfigDir" .) .Values.source.existingConfigMapKey | quote }}
{{- end }}
{{- with .Values.source.github }}
{{- if .repo }}
- {{ printf "--config=github:%s/%s/%s@%s" .owner .repo .path .ref | quote }}
{{- end }}
{{- end }}
{{- range .Values.source.extra }}
- {{ printf "--config=%s" . | quote }}
{{- end }}
- {{ printf "--schedule=%s" .Values.schedule | quote }}
{{- if .Values.jitterSeconds }}
- {{ printf "--jitter=%d" (int64 .Values.jitterSeconds) | quote }}
{{- end }}
{{- if .Values.pollIntervalSeconds }}
- {{ printf "--poll-interval=%d" (int64 .Values.pollIntervalSeconds) | quote }}
{{- end }}
- {{ printf "--listen=%s" (include "seatkeeper.podAddr" (dict "root" . "port" .Values.port)) | quote }}
- {{ printf "--probe-listen=%s" (include "seatkeeper.podAddr" (dict "root" . "port" .Values.probePort)) | quote }}
- {{ printf "--shutdown-timeout=%d" (int64 .Values.shutdownTimeoutSeconds) | quote }}
- {{ printf "--http-header-timeout=%d" (int64 .Values.http.headerTimeoutSeconds) | quote }}
- {{ printf "--http-body-timeout=%d" (int64 .Values.http.bodyTimeoutSeconds) | quote }}
- {{ printf "--http-max-connections=%d" (int64 .Values.http.maxConnections) | quote }}
- {{ printf "--http-max-connections-per-client=%d" (int64 .Values.http.maxConnectionsPerClient) | quote }}
{{- if .Values.status.public }}
- "--status-public"
{{- else if include "seatkeeper.statusToken" . }}
- {{ printf "--status-token-file=%s/token" (include "seatkeeper.statusDir" .) | quote }}
{{- end }}
{{- if .Values.dryRun }}
- "--dry-run"
{{- end }}
{{- if .Values.githubUrl }}
- {{ printf "--github-url=%s" .Values.githubUrl | quote }}
{{- end }}
{{- if include "seatkeeper.appMode" . }}
- {{ printf "--app-id=%d" (int64 .Values.auth.githubApp.appId) | quote }}
- {{ printf "--app-key-file=%s/private-key.pem" (include "seatkeeper.authDir" .) | quote }}
{{- if ne (toString .Values.auth.githubApp.installationId) "" }}
- {{ printf "--installation-id=%d" (int64 .Values.auth.githubApp.installationId) | quote }}
{{- end }}
{{- else }}
- {{ printf "--token-file=%s/token" (include "seatkeeper.authDir" .) | quote }}
{{- end }}
{{- if .Values.webhook.enabled }}
- {{ printf "--webhook-secret-file=%s/secret" (include "seatkeeper.webhookDir" .) | quote }}
- {{ printf "--webhook-branch=%s" .Values.webhook.branch | quote }}
- {{ printf "--webhook-min-interval=%d" (int64 .Values.webhook.minIntervalSeconds) | quote }}
{{- end }}
{{- range .Values.bounds.allowedOrgs }}
- {{ printf "--allowed-org=%s" . | quote }}
{{- end }}
{{- range .Values.bounds.allowedAssignTeams }}
- {{ printf "--allowed-assign-team=%s" . | quote }}
{{- end }}
{{- range .Values.bounds.allowedEnterprises }}
- {{ printf "--allowed-enterprise=%s" . | quote }}
{{- end }}
{{- if ne (toString .Values.bounds.maxRemovals) "" }}
- {{ printf "--max-removals=%s" (toString .Values.bounds.maxRemovals) | quote }}
{{- end }}
{{- if gt (int64 .Values.bounds.maxSeats) 0 }}
- {{ printf "--max-seats=%d" (int64 .Values.bounds.maxSeats) | quote }}
{{- end }}
{{- include "seatkeeper.portalArgs" . }}
{{- if ne (toString .Values.bounds.maxUserBudget) "" }}
- {{ printf "--max-user-budget=%s" (toString .Values.bounds.maxUserBudget) | quote }}
{{- end }}
{{- if ne (toString .Values.bounds.maxBudgetTotal) "" }}
- {{ printf "--max-budget-total=%s" (toString .Values.bounds.maxBudgetTotal) | quote }}
{{- end }}
{{- if .Values.leaderElection.enabled }}
- "--leader-elect"
- {{ printf "--lease-name=%s" (include "seatkeeper.leaseName" .) | quote }}
- {{ printf "--lease-namespace=%s" .Release.Namespace | quote }}
- {{ printf "--lease-duration=%s" .Values.leaderElection.leaseDuration | quote }}
- {{ printf "--renew-deadline=%s" .Values.leaderElection.renewDeadline | quote }}
- {{ printf "--retry-period=%s" .Values.leaderElection.retryPeriod | quote }}
- {{ printf "--clock-skew-tolerance=%s" .Values.leaderElection.clockSkewTolerance | quote }}
{{- end }}
- {{ printf "--rate-budget=%s" .Values.rateBudget | quote }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* The leader-election Lease's name. */}}
{{- define "seatkeeper.leaseName" -}}
{{- default (include "seatkeeper.fullname" .) .Values.leaderElection.leaseName -}}
{{- end -}}
