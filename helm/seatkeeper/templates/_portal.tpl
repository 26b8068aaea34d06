{{/*
The self-serve portal (docs/portal.md): its arguments, its Secret's name,
its checks. Included by deployment.yaml, networkpolicy.yaml and the
portal-*.yaml templates.
*/}}
{{- define "seatkeeper.portalDir" -}}/var/run/secrets/seatkeeper/portal{{- end }}

{{- define "seatkeeper.portalSecretName" -}}
{{- .Values.portal.existingSecret | default (printf "%s-portal" (include "seatkeeper.fullname" .)) }}
{{- end }}

{{- define "seatkeeper.portalValidate" -}}
{{- if .Values.portal.enabled -}}
  {{- if not .Values.source.github.repo -}}
    {{- fail "portal.enabled needs source.github (owner/repo/path/ref): the portal records each request as a commit to that repository" -}}
  {{- end -}}
  {{- if not .Values.portal.clientId -}}
    {{- fail "portal.enabled needs portal.clientId: the client id of the GitHub App people sign in with" -}}
  {{- end -}}
  {{- if not (hasPrefix "https://" .Values.portal.url) -}}
    {{- fail "portal.enabled needs portal.url: the portal's https:// address (its /callback is the App's callback URL)" -}}
  {{- end -}}
  {{- if .Values.portal.existingSecret -}}
    {{- if or .Values.portal.clientSecret .Values.portal.sessionKey -}}
      {{- fail "portal.existingSecret is set: leave portal.clientSecret and portal.sessionKey empty" -}}
    {{- end -}}
  {{- else -}}
    {{- if not .Values.portal.clientSecret -}}
      {{- fail "portal.enabled needs the App's client secret: set portal.existingSecret or portal.clientSecret" -}}
    {{- end -}}
    {{- if lt (len .Values.portal.sessionKey) 32 -}}
      {{- fail "portal.sessionKey must be 32 characters or more (e.g. `head -c 32 /dev/urandom | base64`), or use portal.existingSecret" -}}
    {{- end -}}
  {{- end -}}
  {{- if or (eq (int .Values.portal.port) (int .Values.port)) (eq (int .Values.portal.port) (int .Values.probePort)) -}}
    {{- fail "portal.port must differ from port and probePort: the portal has a listener of its own" -}}
  {{- end -}}
  {{- if and .Values.networkPolicy.enabled (not .Values.portal.from) -}}
    {{- fail "networkPolicy.enabled and portal.enabled: set portal.from to your ingress controller's pods (e.g. [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]), or turn networkPolicy off" -}}
  {{- end -}}
{{- end -}}
{{- end }}

{{- define "seatkeeper.portalArgs" -}}
{{- if .Values.portal.enabled }}
- {{ printf "--portal-listen=%s" (include "seatkeeper.podAddr" (dict "root" . "port" .Values.portal.port)) | quote }}
- {{ printf "--portal-url=%s" .Values.portal.url | quote }}
- {{ printf "--portal-client-id=%s" .Values.portal.clientId | quote }}
- {{ printf "--portal-client-secret-file=%s/client-secret" (include "seatkeeper.portalDir" .) | quote }}
- {{ printf "--portal-session-key-file=%s/session-key" (include "seatkeeper.portalDir" .) | quote }}
- {{ printf "--portal-github-url=%s" .Values.portal.githubUrl | quote }}
- {{ printf "--portal-session-hours=%d" (int64 .Values.portal.sessionHours) | quote }}
- {{ printf "--portal-rate-limit=%d" (int64 .Values.portal.rateLimit) | quote }}
{{- with .Values.portal.adminTeam }}
- {{ printf "--portal-admin-team=%s" . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "seatkeeper.portalPort" -}}
{{- if .Values.portal.enabled -}}
- name: portal
  containerPort: {{ int64 .Values.portal.port }}
  protocol: TCP
{{- end }}
{{- end }}

{{- define "seatkeeper.portalMount" -}}
{{- if .Values.portal.enabled -}}
- name: portal-secret
  mountPath: {{ include "seatkeeper.portalDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "seatkeeper.portalVolume" -}}
{{- if .Values.portal.enabled -}}
- name: portal-secret
  secret:
    secretName: {{ include "seatkeeper.portalSecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ ternary .Values.portal.existingSecretKeys.clientSecret "client-secret" (ne .Values.portal.existingSecret "") | quote }}
        path: client-secret
      - key: {{ ternary .Values.portal.existingSecretKeys.sessionKey "session-key" (ne .Values.portal.existingSecret "") | quote }}
        path: session-key
{{- end }}
{{- end }}

{{- define "seatkeeper.portalIngressRule" -}}
{{- if and .Values.portal.enabled .Values.portal.from -}}
# The portal: browsers, through the ingress controller only.
- ports:
    - port: portal
      protocol: TCP
  from:
    {{- toYaml .Values.portal.from | nindent 4 }}
{{- end }}
{{- end }}
