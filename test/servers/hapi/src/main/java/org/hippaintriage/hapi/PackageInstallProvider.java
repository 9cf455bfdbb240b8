package org.hippaintriage.hapi;

import ca.uhn.fhir.jpa.packages.IPackageInstallerSvc;
import ca.uhn.fhir.jpa.packages.ImplementationGuideInstallationException;
import ca.uhn.fhir.jpa.packages.PackageInstallOutcomeJson;
import ca.uhn.fhir.jpa.packages.PackageInstallationSpec;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.annotation.OperationParam;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.Base64BinaryType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.utilities.npm.NpmPackage;

/**
 * HAPI's own FHIR package installer (PackageInstallerSvcImpl, install mode STORE_AND_INSTALL)
 * over HTTP: {@code POST /fhir/ImplementationGuide/$install} with a Parameters resource whose
 * {@code npmContent} is the package (.tgz) in base64. The same operation and parameter as the
 * HAPI JPA starter's runtime upload ({@code hapi.fhir.ig_runtime_upload_enabled: true}), plus
 * {@code installResourceType} (0..*): the resource types to install, as the starter's
 * {@code hapi.fhir.implementationguides.<id>.installResourceTypes} names them. Without it HAPI
 * installs its defaults only (NamingSystem, CodeSystem, ValueSet, StructureDefinition,
 * ConceptMap, SearchParameter, Subscription). HAPI parses package/package.json, keeps the
 * package in its package cache, generates missing StructureDefinition snapshots and creates or
 * updates every resource by its canonical url; nothing here touches a resource itself.
 *
 * The answer: Parameters with one {@code installed} part per resource type (name and count of
 * resources created or changed) and HAPI's {@code message} lines. A package HAPI cannot read
 * is a 400; a package whose resources HAPI refuses is a 422 with HAPI's reason.
 */
public class PackageInstallProvider {
  private final IPackageInstallerSvc installer;

  public PackageInstallProvider(IPackageInstallerSvc installer) {
    this.installer = installer;
  }

  @Operation(name = "$install", typeName = "ImplementationGuide")
  public Parameters install(
      @OperationParam(name = "npmContent", min = 1, max = 1) Base64BinaryType npmContent,
      @OperationParam(name = "installResourceType", min = 0, max = OperationParam.MAX_UNLIMITED) List<CodeType> installResourceTypes) {
    byte[] tarball = npmContent == null ? null : npmContent.getValue();
    if (tarball == null || tarball.length == 0) {
      throw new InvalidRequestException("npmContent is empty: send the package (.tgz) in base64");
    }
    NpmPackage npmPackage;
    try {
      npmPackage = NpmPackage.fromPackage(new ByteArrayInputStream(tarball));
    } catch (IOException | RuntimeException e) {
      throw new InvalidRequestException("npmContent is not a FHIR package HAPI can read: " + e.getMessage());
    }
    PackageInstallationSpec spec = new PackageInstallationSpec()
        .setName(npmPackage.name())
        .setVersion(npmPackage.version())
        .setPackageContents(tarball)
        .setInstallMode(PackageInstallationSpec.InstallModeEnum.STORE_AND_INSTALL)
        .setFetchDependencies(false);
    if (installResourceTypes != null) {
      spec.setInstallResourceTypes(installResourceTypes.stream().map(CodeType::getValue).toList());
    }
    PackageInstallOutcomeJson outcome;
    try {
      outcome = installer.install(spec);
    } catch (ImplementationGuideInstallationException e) {
      Throwable cause = e.getCause();
      throw new UnprocessableEntityException(e.getMessage() + (cause == null ? "" : " (" + cause.getMessage() + ")"));
    }
    Parameters result = new Parameters();
    for (Map.Entry<String, Integer> installed : outcome.getResourcesInstalled().entrySet()) {
      Parameters.ParametersParameterComponent part = result.addParameter().setName("installed");
      part.addPart().setName("resourceType").setValue(new CodeType(installed.getKey()));
      part.addPart().setName("count").setValue(new IntegerType(installed.getValue()));
    }
    for (String message : outcome.getMessage()) {
      result.addParameter().setName("message").setValue(new StringType(message));
    }
    return result;
  }
}
