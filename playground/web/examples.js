// One example per Palette mode, on one shared manifest, and an operator's custom resource.
"use strict";

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - name: migrate
          image: somedomain.com/somepath/migrate:2.1
      containers:
        - name: web
          image: nginx:1.27
        - name: exporter
          image: quay.io/prometheus/node-exporter:v1.8.2
        - name: agent
          image: us-docker.pkg.dev/palette-images/edge/agent:4.5
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
`;

const EXAMPLES = {
  "Mapping (registryMapping)": {
    settings: `mappings:
  - source: docker.io
    target: harbor.edge.local/dockerhub
    pullSecret: harbor-creds
  - source: somedomain.com/somepath
    target: targetdomain.com/other/path
exclude:
  namespaces: [kube-system]
`,
    manifest: MANIFEST,
  },
  "Prefix every image": {
    settings: `prefix:
  target: 10.10.254.254:8000/spectro-images
`,
    manifest: MANIFEST,
  },
  "Mapping, then prefix": {
    settings: `mappings:
  - source: us-docker.pkg.dev/palette-images
    target: example.registry.com/palette-images
prefix:
  target: 10.10.100.45:30003
`,
    manifest: MANIFEST,
  },
  "Harbor layout with a pull secret": {
    settings: `prefix:
  target: 10.10.137.220:30003/spectro-images
  pullSecret: edge-registry
exclude:
  images: ["quay.io/prometheus/*"]
`,
    manifest: MANIFEST,
  },
  "Operator resource (CloudNativePG)": {
    settings: `mappings:
  - source: ghcr.io
    target: harbor.edge.local/ghcr
resources:
  - apiGroup: postgresql.cnpg.io
    kind: Cluster
    images: ["spec.imageName"]
`,
    manifest: `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: pg
  namespace: db
spec:
  instances: 3
  imageName: ghcr.io/cloudnative-pg/postgresql:16.4
  storage: {size: 1Gi}
---
# The Pod the operator then creates from the Cluster: already on the mirror, left alone.
apiVersion: v1
kind: Pod
metadata: {name: pg-1, namespace: db}
spec:
  containers:
    - name: postgres
      image: harbor.edge.local/ghcr/cloudnative-pg/postgresql:16.4
`,
  },
};
