{{/* Names, labels and computed values shared by the templates. */}}

{{- define "seg-farm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name: the release name, with the chart name unless the release name has it. */}}
{{- define "seg-farm.fullname" -}}
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

{{- define "seg-farm.coordinatorName" -}}
{{- printf "%s-coordinator" (include "seg-farm.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seg-farm.workerName" -}}
{{- printf "%s-worker" (include "seg-farm.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seg-farm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "seg-farm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: seg-farm
{{- end }}

{{/* Selector labels of one component: include with (dict "context" $ "component" "worker"). */}}
{{- define "seg-farm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "seg-farm.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "seg-farm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "seg-farm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The HTTP port both programs listen on (ASPNETCORE_HTTP_PORTS): the images' port. */}}
{{- define "seg-farm.httpPort" -}}8080{{- end }}

{{/* The worker images' cache folder (Worker__CacheFolder), an emptyDir in the pods. */}}
{{- define "seg-farm.cachePath" -}}/var/cache/seg{{- end }}

{{- define "seg-farm.coordinatorImage" -}}
{{- printf "%s:%s" .Values.coordinator.image.repository (default .Chart.AppVersion .Values.coordinator.image.tag) }}
{{- end }}

{{/* The worker image: the GPU image, or its -cpu variant when the pods have no GPU (worker.gpusPerPod 0). */}}
{{- define "seg-farm.workerImage" -}}
{{- $tag := default (printf "%s%s" .Chart.AppVersion (ternary "" "-cpu" (gt (int .Values.worker.gpusPerPod) 0))) .Values.worker.image.tag }}
{{- printf "%s:%s" .Values.worker.image.repository $tag }}
{{- end }}

{{/* Render slots per worker pod: one per GPU, or worker.cpuSlots for CPU workers. */}}
{{- define "seg-farm.slotsPerPod" -}}
{{- if gt (int .Values.worker.gpusPerPod) 0 }}{{ int .Values.worker.gpusPerPod }}{{ else }}{{ int .Values.worker.cpuSlots }}{{ end }}
{{- end }}

{{/*
The worker pods' terminationGracePeriodSeconds: the drain timeout plus a margin, never kept by hand. The worker
gives its tasks Worker:DrainTimeoutSeconds on SIGTERM, then up to 40 s more to hand them back and close the bus.
*/}}
{{- define "seg-farm.workerGracePeriodSeconds" -}}
{{- add (int .Values.worker.drainTimeoutSeconds) (int .Values.worker.terminationGraceMarginSeconds) }}
{{- end }}

{{/* A container's HTTP probe: include with (dict "path" "/healthz" "probe" .Values.x.probes.liveness). */}}
{{- define "seg-farm.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
{{- toYaml .probe | nindent 0 }}
{{- end }}

{{/* The checks every release makes beyond values.schema.json (rules across several values). */}}
{{- define "seg-farm.validate" -}}
{{- if and (not .Values.auth.allowAnonymous) (eq (len .Values.auth.apiKeys) 0) }}
{{- fail "auth.apiKeys: at least one API key is required (the coordinator refuses to start without one), or auth.allowAnonymous: true" }}
{{- end }}
{{- $models := .Values.worker.models }}
{{- $sources := 0 }}
{{- if $models.existingClaim }}{{ $sources = add1 $sources }}{{ end }}
{{- if $models.persistentVolumeClaim.enabled }}{{ $sources = add1 $sources }}{{ end }}
{{- if $models.hostPath }}{{ $sources = add1 $sources }}{{ end }}
{{- if gt $sources 1 }}
{{- fail "worker.models: set only one of existingClaim, persistentVolumeClaim.enabled and hostPath" }}
{{- end }}
{{- end }}

{{/* The connection settings both programs take from the Secrets named in the values. */}}
{{- define "seg-farm.connectionEnv" -}}
- name: ConnectionStrings__Postgres
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.existingSecret }}
      key: {{ .Values.postgresql.connectionStringKey }}
- name: ConnectionStrings__Blobs
  valueFrom:
    secretKeyRef:
      name: {{ .Values.blobStorage.existingSecret }}
      key: {{ .Values.blobStorage.connectionStringKey }}
- name: RabbitMq__Username
  valueFrom:
    secretKeyRef:
      name: {{ .Values.rabbitmq.existingSecret }}
      key: {{ .Values.rabbitmq.usernameKey }}
- name: RabbitMq__Password
  valueFrom:
    secretKeyRef:
      name: {{ .Values.rabbitmq.existingSecret }}
      key: {{ .Values.rabbitmq.passwordKey }}
{{- end }}

{{/* Pod annotations that roll the pods when their settings change, plus Prometheus' when metrics are on. */}}
{{- define "seg-farm.podAnnotations" -}}
checksum/config: {{ include (print .context.Template.BasePath "/configmap.yaml") .context | sha256sum }}
{{- if .context.Values.metrics.enabled }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ include "seg-farm.httpPort" .context | quote }}
prometheus.io/path: {{ .context.Values.metrics.path | quote }}
{{- end }}
{{- with .annotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
