{{/* The release's resource name, at most 63 characters. */}}
{{- define "pilothouse.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "pilothouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "pilothouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the pods. */}}
{{- define "pilothouse.selectorLabels" -}}
app.kubernetes.io/name: pilothouse
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The service account the pods run as. */}}
{{- define "pilothouse.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "pilothouse.fullname" .) -}}
{{- end -}}

{{/* The configuration file. */}}
{{- define "pilothouse.config" -}}
server:
  listen: 0.0.0.0:8080
  siteRoot: /app/site
  publicUrl: {{ .Values.publicUrl | quote }}
  # Readiness fails this long before the listener closes, so the Service stops routing first.
  drainDelaySeconds: 5
  drainTimeoutSeconds: 20
  # Metrics on their own port, so an Ingress to the UI never publishes them.
  metricsListen: 0.0.0.0:9090
tenancy:
  # The Flux writer accounts live in the release's namespace.
  namespace: {{ .Release.Namespace | quote }}
  # The ClusterRoles are named after the release, so two installs do not collide.
  clusterRolePrefix: {{ include "pilothouse.fullname" . | quote }}
leader:
  namespace: {{ .Release.Namespace | quote }}
  leaseName: {{ printf "%s-leader" (include "pilothouse.fullname" .) | quote }}
database:
  maxConnections: {{ .Values.database.maxConnections }}
log:
  format: {{ .Values.log.format }}
  filter: {{ .Values.log.filter | quote }}
{{- with .Values.oidc.issuer }}
oidc:
  issuer: {{ . | quote }}
{{- end }}
audit:
  {{- toYaml (merge (deepCopy .Values.config.audit) (dict "archiveDir" "/var/lib/pilothouse/audit-archive")) | nindent 2 }}
{{- range $section := list "plugins" "flux" "helm" "ui" "access" }}
{{- with index $.Values.config $section }}
{{ $section }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}
