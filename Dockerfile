# One image for every taskmesh service; the command picks the service.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY gen gen
COPY services services
COPY tsconfig.json ./
ENV TASKMESH_HOST=0.0.0.0 NODE_ENV=production
STOPSIGNAL SIGTERM
CMD ["npm", "start"]
