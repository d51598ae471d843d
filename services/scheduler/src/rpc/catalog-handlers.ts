import type { SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { ServiceImplementation } from "../../../kit/src/index.js";
import type { SchedulerEngine } from "../core/scheduler-engine.js";
import {
	decodeOffsetPageToken,
	decodePageToken,
	encodePageToken,
	pageSizeOf,
	required,
} from "./page-token.js";
import { deploymentToProto, scheduleToProto, taskFromProto } from "./proto-convert.js";

/** The handlers of cron schedules and deployments (the environment's catalog). */
export function catalogHandlers(engine: SchedulerEngine): ServiceImplementation<typeof SchedulerService> {
	return {
		async createSchedule(request) {
			const schedule = await engine.schedules.create({
				environmentId: request.environmentId,
				taskId: request.taskId,
				cron: required(request.cron, "cron"),
				timezone: request.timezone,
				deduplicationKey: request.deduplicationKey,
				externalId: request.externalId,
			});
			return { schedule: scheduleToProto(schedule) };
		},

		async getSchedule(request) {
			return {
				schedule: scheduleToProto(
					await engine.schedules.get(request.environmentId, required(request.scheduleId, "schedule_id")),
				),
			};
		},

		async listSchedules(request) {
			const page = await engine.schedules.list(
				required(request.environmentId, "environment_id"),
				request.taskId,
				pageSizeOf(request.pageSize, 50, 500),
				decodePageToken(request.pageToken),
			);
			return {
				schedules: page.schedules.map(scheduleToProto),
				nextPageToken: encodePageToken(page.nextAfterId),
			};
		},

		async updateSchedule(request) {
			const schedule = await engine.schedules.update(
				request.environmentId,
				required(request.scheduleId, "schedule_id"),
				{
					cron: request.cron,
					timezone: request.timezone,
					externalId: request.externalId,
				},
			);
			return { schedule: scheduleToProto(schedule) };
		},

		async deleteSchedule(request) {
			await engine.schedules.delete(request.environmentId, required(request.scheduleId, "schedule_id"));
			return {};
		},

		async activateSchedule(request) {
			return {
				schedule: scheduleToProto(
					await engine.schedules.setActive(request.environmentId, request.scheduleId, true),
				),
			};
		},

		async deactivateSchedule(request) {
			return {
				schedule: scheduleToProto(
					await engine.schedules.setActive(request.environmentId, request.scheduleId, false),
				),
			};
		},

		async createDeployment(request) {
			const d = await engine.deployments.create(
				request.environmentId,
				request.version,
				request.tasks.map(taskFromProto),
			);
			return { deployment: deploymentToProto(d) };
		},

		async promoteDeployment(request) {
			const d = await engine.deployments.promote(
				required(request.environmentId, "environment_id"),
				required(request.version, "version"),
			);
			return { deployment: deploymentToProto(d) };
		},

		async getCurrentDeployment(request) {
			return {
				deployment: deploymentToProto(
					await engine.deployments.current(required(request.environmentId, "environment_id")),
				),
			};
		},

		async listDeployments(request) {
			const page = await engine.deployments.list(
				required(request.environmentId, "environment_id"),
				pageSizeOf(request.pageSize, 20, 100),
				decodeOffsetPageToken(request.pageToken),
			);
			return {
				deployments: page.deployments.map(deploymentToProto),
				nextPageToken: page.nextOffset === 0 ? "" : encodePageToken(String(page.nextOffset)),
			};
		},
	};
}
