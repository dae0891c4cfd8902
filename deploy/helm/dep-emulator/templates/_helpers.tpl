{{/* Names and labels, as `helm create` makes them. */}}
{{- define "dep-emulator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dep-emulator.fullname" -}}
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

{{- define "dep-emulator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dep-emulator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dep-emulator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dep-emulator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "dep-emulator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dep-emulator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "dep-emulator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The Secret holding the admin token (and the database URL unless CloudNativePG provides it). */}}
{{- define "dep-emulator.secretName" -}}
{{- default (include "dep-emulator.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* The CloudNativePG Cluster's name; the operator makes <name>-app (the app user's Secret, key
`uri`) and <name>-rw (the Service of the primary). */}}
{{- define "dep-emulator.dbClusterName" -}}
{{- printf "%s-db" (include "dep-emulator.fullname" .) | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/* DEPEMU_PUBLIC_BASE_URL: publicBaseUrl, else the first Ingress host (https with TLS for it). */}}
{{- define "dep-emulator.publicBaseUrl" -}}
{{- if .Values.publicBaseUrl }}
{{- .Values.publicBaseUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}{{ if has $host .hosts }}{{ $tls = true }}{{ end }}{{ end }}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host }}
{{- end }}
{{- end }}

{{/*
DEPEMU_DB_POOL_SIZE. Every worker of every pod that can exist at once (the autoscaler's maximum,
or replicaCount, plus the rolling update's surge) opens up to 5x the pool size (the ORM pool up to
3x, the asyncpg fast-path pool up to 2x: dep_emulator.core.config). Together they must stay within
the database's maxConnections less reservedConnections.
*/}}
{{- define "dep-emulator.pods" -}}
{{- $replicas := ternary .Values.autoscaling.maxReplicas .Values.replicaCount .Values.autoscaling.enabled }}
{{- /* rollingUpdate.maxSurge is a number of pods, not a percentage (values.schema.json) */}}
{{- add (int $replicas) (int .Values.rollingUpdate.maxSurge) }}
{{- end }}

{{- define "dep-emulator.poolSize" -}}
{{- $pods := mul (int (include "dep-emulator.pods" .)) (int .Values.workers) }}
{{- $available := sub (int .Values.database.maxConnections) (int .Values.database.reservedConnections) }}
{{- $size := int .Values.database.poolSize }}
{{- if gt $size 0 }}
{{- if gt (mul $size 5 $pods) $available }}
{{- fail (printf "database.poolSize %d: %d worker processes x 5 x %d = %d connections, more than maxConnections - reservedConnections = %d" $size $pods $size (mul $size 5 $pods) $available) }}
{{- end }}
{{- $size }}
{{- else }}
{{- $derived := div $available (mul 5 $pods) }}
{{- if lt $derived 1 }}
{{- fail (printf "%d worker processes x 5 connections at least exceed maxConnections - reservedConnections = %d: raise database.maxConnections, lower the replicas, or put PgBouncer in front (docs/deploy.md)" $pods $available) }}
{{- end }}
{{- $derived }}
{{- end }}
{{- end }}
