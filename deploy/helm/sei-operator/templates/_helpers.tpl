{{- define "sei-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "sei-operator" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-sei-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sei-operator.selectorLabels" -}}
app.kubernetes.io/name: sei-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sei-operator.labels" -}}
{{ include "sei-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sei-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sei-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The platform settings the operator cannot start without. */}}
{{- define "sei-operator.requiredPlatform" -}}
SEI_NODEPOOL_NAME SEI_NODEPOOL_ARCHIVE SEI_TOLERATION_KEY SEI_SERVICE_ACCOUNT SEI_STORAGE_CLASS_PERF SEI_STORAGE_CLASS_DEFAULT SEI_STORAGE_CLASS_ARCHIVE SEI_STORAGE_SIZE_DEFAULT SEI_STORAGE_SIZE_ARCHIVE SEI_RESOURCE_CPU_DEFAULT SEI_RESOURCE_MEM_DEFAULT SEI_RESOURCE_CPU_ARCHIVE SEI_RESOURCE_MEM_ARCHIVE SEI_SNAPSHOT_BUCKET SEI_SNAPSHOT_REGION SEI_GENESIS_BUCKET SEI_GENESIS_REGION SEI_RESULT_EXPORT_BUCKET SEI_RESULT_EXPORT_REGION SEI_RESULT_EXPORT_PREFIX SEI_GATEWAY_NAME SEI_GATEWAY_NAMESPACE SEI_GATEWAY_DOMAIN
{{- end -}}
